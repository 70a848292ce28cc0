-- sessionize's full rule in SQL: a new session when the gap to the previous
-- event is > the inactivity timeout, or when the event is > the max duration
-- after the session's start; greedy, so the event that crosses starts the
-- next session.
--
-- The max-duration cut depends on where the session started, which depends on
-- the previous cut: no window function can express that, hence the recursive
-- CTE. It recurses over session starts, not over events, to keep the number
-- of iterations small:
--   1. Gap cuts do not depend on session starts, so the classic LAG + SUM
--      splits each user's events into "gap runs" first; every gap run begins
--      a session.
--   2. Inside a gap run only the max duration cuts, so the next start is the
--      first event of the run that is more than the max duration after the
--      current start. The recursion takes that step for every run at once;
--      it iterates as often as the longest run has 2 h pieces.
--   3. Each event belongs to the latest start at or before it (ASOF JOIN).
COPY (
    WITH RECURSIVE firsts AS (
        -- a duplicate (same uuid and event_id) counts once: the first arrival
        -- (GROUP BY with arg_min: a hash aggregate, faster than the usual
        -- QUALIFY row_number() = 1, which sorts)
        SELECT uuid, event_id, arg_min(ts, rowid) AS ts, arg_min(page, rowid) AS page
        FROM events
        WHERE reason IS NULL
        GROUP BY uuid, event_id
    ),
    ordered AS (
        SELECT uuid, event_id, ts, page,
            row_number() OVER w AS rn,
            CASE WHEN ts - lag(ts) OVER w <= {{inactivity_ms}} THEN 0 ELSE 1 END AS gap_cut
        FROM firsts
        WINDOW w AS (PARTITION BY uuid ORDER BY ts, event_id)
    ),
    runs AS (
        SELECT uuid, ts, page, rn,
            sum(gap_cut) OVER (PARTITION BY uuid ORDER BY rn ROWS UNBOUNDED PRECEDING) AS run_no
        FROM ordered
    ),
    starts (uuid, run_no, rn, ts) AS (
        -- (1) the first event of every gap run
        SELECT uuid, run_no, min(rn), min(ts)
        FROM runs
        GROUP BY uuid, run_no
        UNION ALL
        -- (2) the first event of the same run past start + max duration;
        -- events are numbered in (ts, event_id) order, so the smallest rn
        -- is also the earliest event and the (ts, event_id) tie-break holds
        SELECT s.uuid, s.run_no, min(r.rn), min(r.ts)
        FROM starts s
        JOIN runs r
          ON r.uuid = s.uuid AND r.run_no = s.run_no
         AND r.ts > s.ts + {{max_duration_ms}}
        GROUP BY s.uuid, s.run_no
    ),
    assigned AS (
        -- (3) every event joins the latest session start at or before it
        SELECT r.uuid, r.ts, r.rn, r.page, s.rn AS start_rn
        FROM runs r
        ASOF JOIN starts s
          ON r.uuid = s.uuid AND r.run_no = s.run_no AND r.rn >= s.rn
    ),
    sessions AS (
        SELECT uuid,
            min(ts) AS session_start_time_ms,
            max(ts) AS session_end_time_ms,
            count(*) AS event_count,
            list(page ORDER BY rn) AS pages_visited
        FROM assigned
        GROUP BY uuid, start_rn
    )
    SELECT
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
