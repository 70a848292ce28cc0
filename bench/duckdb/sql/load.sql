-- Load: one row per input line, in file order, with the rejection reason the
-- sessionizer would give it (NULL when the record is accepted).
--
-- Lines are read as plain text and parsed with DuckDB's JSON functions rather
-- than with read_ndjson(..., ignore_errors = true). read_ndjson is faster, but
-- it cannot be made honest: an invalid line becomes a row of NULLs that looks
-- like "missing uuid" (and so, in our tests, did one valid record), it takes
-- the first of two repeated keys, and it gives no line number. Reading text
-- keeps every line, so the table's rowid is the arrival order (DuckDB
-- preserves insertion order by default), which is what "the first arrival of a
-- duplicate wins" needs.
--
-- chr(1) as the delimiter and no quote/escape character make the CSV reader
-- hand back each line untouched as a single column.
--
-- Regular expressions instead of trim()/ltrim(): those are Unicode-aware and
-- cost several seconds on 5M lines; RE2 stops at the first character.
CREATE TABLE events AS
WITH lines AS (
    SELECT line
    FROM read_csv({{input}},
                  columns = {'line': 'VARCHAR'}, header = false, auto_detect = false,
                  delim = chr(1), quote = '', escape = '', max_line_size = 8388608)
),
checked AS (
    SELECT line,
        CASE
            WHEN line IS NULL OR regexp_full_match(line, '[ \t\r\n]*') THEN 'empty_record'
            WHEN strlen(line) > 1048576 THEN 'line_too_long'
            -- valid JSON, but an array, a string, a number... is not a record
            WHEN NOT (regexp_matches(line, '^[ \t\r\n]*\{') AND json_valid(line)) THEN 'invalid_json'
        END AS bad_line
    FROM lines
),
fields AS (
    -- One parse for all four fields. They come back as JSON text, which keeps
    -- their type: a string starts with a quote, a number does not. A missing
    -- key is NULL.
    SELECT line, bad_line,
        CASE WHEN bad_line IS NULL
             THEN json_transform(line, '{"uuid": "JSON", "event_id": "JSON",
                                         "event_timestamp": "JSON", "page_name": "JSON"}')
        END AS f
    FROM checked
),
typed AS (
    SELECT line, bad_line,
        -- ->> '$' unquotes and unescapes a JSON string; an integer is taken
        -- as its text, as sessionize takes numbers in id fields
        CASE WHEN starts_with(f.uuid, '"') THEN f.uuid ->> '$'
             WHEN regexp_full_match(f.uuid::VARCHAR, '-?[0-9]+') THEN f.uuid::VARCHAR END AS uuid,
        CASE WHEN starts_with(f.event_id, '"') THEN f.event_id ->> '$'
             WHEN regexp_full_match(f.event_id::VARCHAR, '-?[0-9]+') THEN f.event_id::VARCHAR END AS event_id,
        -- present, not null, and neither a string nor an integer: the wrong type
        f.uuid IS NOT NULL AND f.uuid::VARCHAR <> 'null' AND NOT starts_with(f.uuid, '"')
            AND NOT regexp_full_match(f.uuid::VARCHAR, '-?[0-9]+') AS uuid_wrong,
        f.event_id IS NOT NULL AND f.event_id::VARCHAR <> 'null' AND NOT starts_with(f.event_id, '"')
            AND NOT regexp_full_match(f.event_id::VARCHAR, '-?[0-9]+') AS event_id_wrong,
        -- a string of digits or a JSON integer; anything else fails below
        CASE WHEN starts_with(f.event_timestamp, '"') THEN f.event_timestamp ->> '$'
             ELSE f.event_timestamp::VARCHAR END AS ts_text,
        f.event_timestamp IS NULL OR f.event_timestamp::VARCHAR IN ('null', '""') AS ts_missing,
        -- a missing or non-string page_name is an empty page, as in sessionize
        CASE WHEN starts_with(f.page_name, '"') THEN f.page_name ->> '$' ELSE '' END AS page
    FROM fields
),
timed AS (
    SELECT *,
        -- sessionize's --time-format ms (the bench runs it with that flag):
        -- 1 to 19 ASCII digits that fit in a BIGINT. TRY_CAST alone would also
        -- take '+5', ' 5' or '5.0'; the JSON numbers 1.7e12 and -5 must fail.
        CASE WHEN regexp_full_match(ts_text, '[0-9]{1,19}') THEN TRY_CAST(ts_text AS BIGINT) END AS ts
    FROM typed
),
judged AS (
    SELECT *,
        CASE
            WHEN bad_line IS NOT NULL THEN bad_line
            WHEN uuid_wrong THEN 'user_not_string'
            WHEN coalesce(uuid, '') = '' THEN 'missing_user'
            WHEN event_id_wrong THEN 'event_id_not_string'
            WHEN coalesce(event_id, '') = '' THEN 'missing_event_id'
            WHEN ts IS NOT NULL THEN NULL
            WHEN ts_missing THEN 'missing_time'
            -- negative, or digits past a BIGINT
            WHEN regexp_full_match(ts_text, '-?[0-9]+') THEN 'time_out_of_range'
            ELSE 'time_not_number'
        END AS reason
    FROM timed
)
SELECT
    reason,
    CASE WHEN reason IS NULL THEN uuid END AS uuid,
    CASE WHEN reason IS NULL THEN event_id END AS event_id,
    CASE WHEN reason IS NULL THEN ts END AS ts,
    CASE WHEN reason IS NULL THEN page END AS page,
    -- the raw text is kept only for the rejected-records file
    CASE WHEN reason IS NOT NULL THEN line END AS raw
FROM judged;
