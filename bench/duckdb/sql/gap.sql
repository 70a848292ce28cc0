-- The classic gap-only sessionization: LAG to find each event's gap to the
-- user's previous event, a running SUM of "gap > timeout" flags to number the
-- sessions, GROUP BY to build them. It knows nothing of the 2 h max duration,
-- so its sessions differ from sessionize's wherever a visit runs longer.
COPY (
    WITH firsts AS (
        -- a duplicate (same uuid and event_id) counts once: the first arrival
        -- (GROUP BY with arg_min: a hash aggregate, faster than the usual
        -- QUALIFY row_number() = 1, which sorts)
        SELECT uuid, event_id, arg_min(ts, rowid) AS ts, arg_min(page, rowid) AS page
        FROM events
        WHERE reason IS NULL
        GROUP BY uuid, event_id
    ),
    flagged AS (
        -- rn numbers each user's events in (ts, event_id) order once, so the
        -- running sum and the page list below sort integers, not strings
        SELECT uuid, ts, page,
            row_number() OVER w AS rn,
            CASE WHEN ts - lag(ts) OVER w <= {{inactivity_ms}} THEN 0 ELSE 1 END AS is_start
        FROM firsts
        WINDOW w AS (PARTITION BY uuid ORDER BY ts, event_id)
    ),
    numbered AS (
        SELECT *,
            sum(is_start) OVER (PARTITION BY uuid ORDER BY rn ROWS UNBOUNDED PRECEDING) AS session_no
        FROM flagged
    ),
    sessions AS (
        SELECT uuid,
            min(ts) AS session_start_time_ms,
            max(ts) AS session_end_time_ms,
            count(*) AS event_count,
            list(page ORDER BY rn) AS pages_visited
        FROM numbered
        GROUP BY uuid, session_no
    )
    SELECT
        -- deterministic like sessionize's (which is a UUIDv5 of the same two)
        md5(uuid || ':' || session_start_time_ms) AS session_id,
        uuid,
        session_start_time_ms,
        session_end_time_ms,
        (session_end_time_ms - session_start_time_ms) / 1000 AS session_duration_seconds,
        event_count,
        pages_visited,
        pages_visited[1] AS entry_page,
        pages_visited[-1] AS exit_page
    FROM sessions
) TO {{output}} (FORMAT json);
