-- Session-by-session comparison of sessionize's output ({{ours}}) with a
-- DuckDB output ({{theirs}}). Sessions are matched on (uuid, start); a pair is
-- equal when end, duration, event_count, pages_visited, entry and exit page
-- all agree. sessionize caps pages_visited at {{max_pages}} pages and says so
-- in pages_truncated (event_count stays exact); DuckDB's lists are never
-- capped, so a capped list must equal the first {{max_pages}} of DuckDB's, and
-- be capped exactly when the session has more events than that.
CREATE TEMP TABLE ours AS
SELECT * FROM read_json({{ours}}, format = 'newline_delimited', columns = {
    uuid: 'VARCHAR', session_start_time_ms: 'BIGINT', session_end_time_ms: 'BIGINT',
    session_duration_seconds: 'DOUBLE', event_count: 'BIGINT', pages_visited: 'VARCHAR[]',
    pages_truncated: 'BOOLEAN', entry_page: 'VARCHAR', exit_page: 'VARCHAR'});

CREATE TEMP TABLE theirs AS
SELECT * FROM read_json({{theirs}}, format = 'newline_delimited', columns = {
    uuid: 'VARCHAR', session_start_time_ms: 'BIGINT', session_end_time_ms: 'BIGINT',
    session_duration_seconds: 'DOUBLE', event_count: 'BIGINT', pages_visited: 'VARCHAR[]',
    entry_page: 'VARCHAR', exit_page: 'VARCHAR'});

CREATE TEMP TABLE verdicts AS
SELECT
    coalesce(o.uuid, t.uuid) AS uuid,
    coalesce(o.session_start_time_ms, t.session_start_time_ms) AS start_ms,
    CASE
        WHEN t.uuid IS NULL THEN 'only in sessionize'
        WHEN o.uuid IS NULL THEN 'only in duckdb'
        WHEN o.session_end_time_ms IS DISTINCT FROM t.session_end_time_ms THEN 'end differs'
        WHEN o.event_count IS DISTINCT FROM t.event_count THEN 'event_count differs'
        WHEN o.session_duration_seconds IS DISTINCT FROM t.session_duration_seconds THEN 'duration differs'
        WHEN coalesce(o.pages_truncated, false) IS DISTINCT FROM (t.event_count > {{max_pages}}) THEN 'pages_truncated wrong'
        WHEN o.pages_visited IS DISTINCT FROM t.pages_visited[1:{{max_pages}}] THEN 'pages_visited differ'
        WHEN o.entry_page IS DISTINCT FROM t.entry_page OR o.exit_page IS DISTINCT FROM t.exit_page THEN 'entry/exit page differ'
        ELSE 'equal'
    END AS verdict,
    o.session_end_time_ms AS ours_end, t.session_end_time_ms AS duckdb_end,
    o.event_count AS ours_events, t.event_count AS duckdb_events,
    o.pages_visited AS ours_pages, t.pages_visited AS duckdb_pages
FROM ours o
FULL OUTER JOIN theirs t
  ON o.uuid = t.uuid AND o.session_start_time_ms = t.session_start_time_ms;
