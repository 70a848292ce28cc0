-- Every rejected record with its reason and file:line, as sessionize's
-- --rejected file has them.
COPY (
    SELECT reason, {{input}} || ':' || (rowid + 1) AS source, raw
    FROM events
    WHERE reason IS NOT NULL
    ORDER BY rowid
) TO {{rejected}} (FORMAT json);
