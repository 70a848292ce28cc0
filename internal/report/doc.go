// Package report computes session analytics — the figures the original
// Spark tool's reports showed — from the Iceberg sessions table or from a
// sessions file written by `sessionize batch`, and renders them as a
// terminal table, JSON or one self-contained HTML page with SVG charts.
//
// # Sources
//
// A warehouse (LoadWarehouse) gives the sessions table plus the pipeline's
// account of every record (iceberg.Warehouse.Audit), so late, rejected and duplicate
// rates are known. A sessions file (LoadFile: JSON lines, gzip-compressed
// JSON lines, or Parquet, told apart by content) has only sessions; its
// rates come from the batch run's --summary-json file when one is given,
// and are reported as not available otherwise.
//
// # Definitions
//
// Every time is UTC. A session belongs to the day and hour of its
// session_start_time_ms.
//
//   - Window: --from T keeps sessions that start at or after T; --to T keeps
//     sessions that start before T. A bare date (YYYY-MM-DD) is midnight UTC
//     for --from and the end of that day for --to, so --from D --to D is the
//     whole day D. Every figure except the quality rates is computed on the
//     sessions inside the window.
//   - sessions: rows in the window. users: distinct uuid among them,
//     counted by 64-bit hash (xxhash): two uuids with the same hash would
//     count as one user, about a 3-in-a-million chance at 10M users.
//   - sessions per user: mean = sessions / users; the distribution counts
//     users by how many sessions they have in the window.
//   - duration: session_duration_seconds. events per session: event_count.
//     mean is the arithmetic mean; median is the middle value (the mean of
//     the two middle values for an even count); p95 is the nearest-rank
//     95th percentile: the smallest value that at least 95% of the sessions
//     are at or below (sorted[ceil(0.95·n)-1]). All are exact: values are
//     kept as exact counts per distinct value (durations per millisecond),
//     not sampled or binned.
//   - Distribution buckets: each bucket counts values v with min <= v < max
//     (max null: no upper bound); see DurationBuckets, EventBuckets and
//     UserBuckets for the edges.
//   - bounce rate: sessions with event_count = 1, over sessions.
//   - most active session of each day: per UTC day of session start, the
//     session with the most events; ties go to the longer session, then the
//     earlier start, then the smaller session_id.
//   - top entry / exit pages: entry_page / exit_page by number of sessions
//     (ties by page name), the first --top of them; share is over sessions.
//   - funnel: the steps home -> search -> results -> details -> booking ->
//     confirmation. A session reaches step k when its pages_visited
//     contains steps 1..k in that order as a subsequence (other pages may
//     come between and before them; matched greedily from the left). So a
//     session that lands on search never reaches any step: the funnel
//     starts at home. share_of_sessions = reached(k) / sessions;
//     conversion_from_previous = reached(k) / reached(k-1) (for home, the
//     same as its share). A session whose pages_visited was truncated is
//     judged on the pages kept.
//   - end reasons: sessions by end_reason, most frequent first.
//   - quality (late, rejected, duplicates): from the warehouse account or
//     the batch summary, over every record the source consumed; a
//     --from/--to window does not apply to them (records have no session
//     start). rate = count / records. Batch has no late events (it orders
//     everything), so late is null for a batch summary.
//
// # Memory
//
// Sessions are aggregated as they are read, one Arrow record at a time;
// no list of sessions is ever held. A warehouse report pushes --from/--to
// into the Iceberg scan, so only the day partitions of the window are
// read, and reads only the columns it uses. What is kept grows only with
// distinct values: days, hours, pages, end reasons, durations (16 MiB at
// most), and about 12 bytes per user for the users count
// (bench/report-memory.sh prints the peak RSS over 10M sessions).
//
// # JSON
//
// WriteJSON writes Report as one JSON object; the field names in the
// struct tags are the stable interface (schema_version 1). Every key is
// always present; a figure that does not exist is null (for example the
// mean duration of an empty window, or the late rate of a file).
package report
