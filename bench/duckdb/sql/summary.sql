-- The run's accounting: records = events in sessions + duplicates + rejected.
SELECT
    count(*) AS records_read,
    count(*) FILTER (WHERE reason IS NOT NULL) AS rejected,
    count(DISTINCT (uuid, event_id)) FILTER (WHERE reason IS NULL) AS events_in_sessions,
    count(*) FILTER (WHERE reason IS NULL)
      - count(DISTINCT (uuid, event_id)) FILTER (WHERE reason IS NULL) AS duplicates
FROM events;
