#!/usr/bin/env python3
"""Generates the event-schema conformance cases (cases/schema-*).

The expected outputs come from this script's own reading of the rules
(README.md) and of the schema options, written independently of the Go
code: Python's datetime parses the dates, the sessions are folded here.
Run it from this directory; it rewrites the schema-* folders.

    /usr/bin/python3 schema_cases.py
"""

import datetime as dt
import json
import os
import shutil
import zoneinfo

MIN = 60_000
T0 = 1764842400  # 2025-12-04T10:00:00Z, epoch seconds
INACTIVITY, MAX_DURATION, LATENESS = 30 * MIN, 120 * MIN, 10 * MIN


def fnv1a(b):
    h = 14695981039346656037
    for c in b:
        h ^= c
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def iso(sec, ms=0, off="Z"):
    return dt.datetime.fromtimestamp(sec, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + (".%03d" % ms if ms else "") + off


class Schema:
    def __init__(self, user=("uuid",), event_id="event_id", time="event_timestamp", fmt=None, tz="UTC", page="page_name"):
        # fmt None is the default, auto, left out of case.json; "auto" is
        # written out: the case depends on it (the DuckDB reference, which
        # reads like --time-format ms, skips such cases).
        self.explicit_fmt = fmt is not None
        fmt = fmt or "auto"
        self.user, self.event_id, self.time, self.fmt, self.tz, self.page = list(user), event_id, time, fmt, tz, page

    def options(self):
        o = {}
        if self.user != ["uuid"]:
            o["user_fields"] = self.user
        if self.event_id != "event_id":
            o["event_id_field"] = self.event_id
        if self.time != "event_timestamp":
            o["time_field"] = self.time
        if self.explicit_fmt:
            o["time_format"] = self.fmt
        if self.tz != "UTC":
            o["timezone"] = self.tz
        if self.page != "page_name":
            o["page_field"] = self.page
        return o


MISSING = object()


def lookup(rec, path):
    v = rec
    for name in path.split("."):
        if not isinstance(v, dict) or name not in v:
            return MISSING
        v = v[name]
    return v


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def read_id(v, missing, wrong):
    if v is MISSING or v is None or v == "":
        return None, missing
    if isinstance(v, str):
        return v, None
    if is_int(v):
        return str(v), None
    return None, wrong


MAX_MS = 253402300799999


def epoch(n, unit):
    if n < 0 or n >= 2**63:  # an epoch number must fit in an int64
        return None, "time_out_of_range"
    if unit == "auto":
        unit = "s" if n < 1e11 else "ms" if n < 1e14 else "us" if n < 1e17 else "ns"
    ms = {"s": n * 1000, "ms": n, "us": n // 1000, "ns": n // 1_000_000}[unit]
    if ms > MAX_MS:
        return None, "time_out_of_range"
    return ms, None


def read_time(v, s):
    if v is MISSING or v is None or v == "":
        return None, "missing_time"
    text = s.fmt in ("rfc3339",) or s.fmt.startswith("yyyy")
    if is_int(v):
        return (None, "bad_time_format") if text else epoch(v, s.fmt)
    if isinstance(v, float):
        return None, "bad_time_format" if text else "time_not_number"
    if not isinstance(v, str):
        return None, "bad_time_format" if text else "time_not_number"
    if s.fmt in ("s", "ms", "us", "ns"):
        return epoch(int(v), s.fmt) if v.isdigit() else (None, "time_not_number")
    if s.fmt == "auto" and v.isdigit():
        return epoch(int(v), "auto")
    if s.fmt == "yyyy-MM-dd HH:mm:ss[.fff]":
        try:
            d = dt.datetime.strptime(v, "%Y-%m-%d %H:%M:%S.%f" if "." in v else "%Y-%m-%d %H:%M:%S")
        except ValueError:
            return None, "bad_time_format"
        return millis(d.replace(tzinfo=zoneinfo.ZoneInfo(s.tz))), None
    try:  # rfc3339 (offset required) or auto (offset optional: then in tz)
        d = dt.datetime.fromisoformat(v)
    except ValueError:
        return None, "bad_time_format"
    if d.tzinfo is None:
        if s.fmt == "rfc3339":
            return None, "bad_time_format"
        d = d.replace(tzinfo=zoneinfo.ZoneInfo(s.tz))
    return millis(d), None


def millis(d):
    td = d - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return td.days * 86_400_000 + td.seconds * 1000 + td.microseconds // 1000


def parse(line, s):
    """(user, id, ms, page) or a rejection reason."""
    raw = line.encode()
    body = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    try:
        rec = json.loads(body)
    except ValueError:
        return "invalid_json"
    if not isinstance(rec, dict):
        return "invalid_json"
    parts = []
    for u in s.user:
        p, why = read_id(lookup(rec, u), "missing_user", "user_not_string")
        if why:
            return why
        parts.append(p)
    user = parts[0] if len(parts) == 1 else json.dumps(parts, separators=(",", ":"), ensure_ascii=False)
    if s.event_id:
        eid, why = read_id(lookup(rec, s.event_id), "missing_event_id", "event_id_not_string")
        if why:
            return why
    ms, why = read_time(lookup(rec, s.time), s)
    if why:
        return why
    page = lookup(rec, s.page) if s.page else MISSING
    page = page if isinstance(page, str) else ""
    if not s.event_id:
        eid = fnv1a(raw)
    return (user, eid, ms, page)


def sessions(events):
    by_user = {}
    seen, dups = set(), 0
    for u, eid, ms, page in events:
        if (u, eid) in seen:
            dups += 1
            continue
        seen.add((u, eid))
        by_user.setdefault(u, []).append((ms, eid, page))
    out = []
    for u, evs in by_user.items():
        evs.sort(key=lambda e: (e[0], e[1].encode()))
        cur = None
        for ms, eid, page in evs:
            if cur and (ms - cur["last"] > INACTIVITY or ms - cur["start"] > MAX_DURATION):
                out.append(cur)
                cur = None
            if cur is None:
                cur = {"uuid": u, "start": ms, "last": ms, "pages": []}
            cur["last"] = ms
            cur["pages"].append(page)
        out.append(cur)
    rows = [{"uuid": c["uuid"], "session_start_time_ms": c["start"], "session_end_time_ms": c["last"],
             "session_duration_seconds": (c["last"] - c["start"]) / 1000, "event_count": len(c["pages"]),
             "pages_visited": c["pages"]} for c in out]
    rows.sort(key=lambda r: (r["uuid"].encode(), r["session_start_time_ms"]))
    return rows, dups


def write(name, description, s, records):
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    events, rejected, late, high = [], {}, [], None
    for l in lines:
        p = parse(l, s)
        if isinstance(p, str):
            rejected[p] = rejected.get(p, 0) + 1
            continue
        # Stream view: one partition, arrival order. Duplicates are
        # dropped before the lateness check only when the original is
        # still open; the cases keep every event on time.
        if high is not None and p[2] < high - LATENESS:
            late.append(p[1])
        high = p[2] if high is None else max(high, p[2])
        events.append(p)
    assert not late, (name, late)
    rows, dups = sessions(events)
    d = os.path.join("cases", name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    case = {"description": description, "inactivity_timeout_ms": INACTIVITY, "max_session_duration_ms": MAX_DURATION,
            "allowed_lateness_ms": LATENESS, "input_records": len(lines), "rejected": rejected, "duplicates": dups,
            "stream_late_event_ids": []}
    case.update(s.options())
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(case, f, indent=2, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(d, "input.jsonl"), "w", encoding="utf-8", newline="\n") as f:
        for l in lines:
            f.write(l + "\n")
    with open(os.path.join(d, "expected_sessions.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def ev(uuid, eid, ts, page=None, **extra):
    r = {"event_id": eid, "page_name": page if page is not None else "p-%s" % (eid,), "event_timestamp": ts, "uuid": uuid}
    r.update(extra)
    return r


def main():
    d = Schema()
    auto = Schema(fmt="auto")
    write("schema-time-auto", "Default --time-format auto: epoch numbers and digit strings by magnitude (s below 1e11, ms below 1e14, us below 1e17, else ns) and RFC 3339 strings, with or without fraction and offset (none: --timezone, UTC).", auto, [
        ev("u1", "a", T0),                                   # seconds
        ev("u1", "b", str(T0 + 60)),                         # seconds, digit string
        ev("u1", "c", (T0 + 120) * 1000),                    # ms
        ev("u1", "d", str((T0 + 180) * 1000 + 5)),           # ms, digit string
        ev("u1", "e", (T0 + 240) * 1_000_000 + 999),         # us
        ev("u1", "f", (T0 + 300) * 1_000_000_000 + 999_999),  # ns
        ev("u1", "g", iso(T0 + 360)),                        # RFC 3339, Z
        ev("u1", "h", iso(T0 + 3600 + 420, 250, "+01:00")),  # offset and fraction
        ev("u1", "i", iso(T0 + 480)[:-1].replace("T", " ")),  # no offset: UTC
        ev("u2", "a", T0 + 4 * 3600),
    ])
    write("schema-time-s", "--time-format s: epoch seconds, as numbers or digit strings; milliseconds overflow the year 9999 (time_out_of_range), a date is not a number.", Schema(fmt="s"), [
        ev("u1", "a", T0), ev("u1", "b", str(T0 + 1900)), ev("u1", "c", T0 + 2000),
        ev("u1", "d", T0 * 1000), ev("u1", "e", iso(T0)), ev("u1", "f", T0 + 0.5),
    ])
    write("schema-time-ms", "--time-format ms keeps the strict rule: every epoch number is milliseconds (so seconds become times in 1970) and a date string is not a number.", Schema(fmt="ms"), [
        ev("u2", "a", T0), ev("u2", "b", T0 + 60),
        ev("u1", "a", T0 * 1000), ev("u1", "b", str(T0 * 1000 + 1)), ev("u1", "c", iso(T0)),
    ])
    write("schema-time-us", "--time-format us: epoch microseconds, truncated to milliseconds.", Schema(fmt="us"), [
        ev("u1", "a", T0 * 1_000_000 + 1999), ev("u1", "b", str((T0 + 60) * 1_000_000)), ev("u1", "c", -1),
    ])
    write("schema-time-ns", "--time-format ns: epoch nanoseconds, truncated to milliseconds.", Schema(fmt="ns"), [
        ev("u1", "a", T0 * 1_000_000_000 + 1_999_999), ev("u1", "b", str((T0 + 60) * 1_000_000_000)), ev("u1", "c", "soon"),
    ])
    write("schema-time-rfc3339", "--time-format rfc3339: an offset is required; numbers and offset-less dates are bad_time_format.", Schema(fmt="rfc3339"), [
        ev("u1", "a", iso(T0)), ev("u1", "b", iso(T0 + 600 + 3600 * 2, 5, "+02:00")), ev("u1", "c", iso(T0 + 1200, 123, "-00:00")),
        ev("u1", "d", iso(T0 + 1300)[:-1]), ev("u1", "e", T0 * 1000), ev("u1", "f", "2025-02-30T10:00:00Z"),
    ])
    write("schema-time-layout", "--time-format 'yyyy-MM-dd HH:mm:ss[.fff]' with --timezone Europe/Berlin (UTC+1 in December): the wall-clock time is Berlin's.",
          Schema(fmt="yyyy-MM-dd HH:mm:ss[.fff]", tz="Europe/Berlin"), [
        ev("u1", "a", "2025-12-04 11:00:00"), ev("u1", "b", "2025-12-04 11:10:00.5"), ev("u1", "c", "2025-12-04 11:50:00"),
        ev("u1", "d", "2025-12-04T11:50:00"), ev("u1", "e", iso(T0)),
    ])
    write("schema-composite-key", "Two --user-field: a user is the pair; the sessions' uuid is the parts as a JSON array. The same user_id with another account_id is another user.",
          Schema(user=("user_id", "account_id")), [
        {"event_id": "a", "user_id": "u1", "account_id": "acct-1", "event_timestamp": T0 * 1000, "page_name": "home"},
        {"event_id": "b", "user_id": "u1", "account_id": "acct-2", "event_timestamp": T0 * 1000 + 1, "page_name": "home"},
        {"event_id": "c", "user_id": "u1", "account_id": "acct-1", "event_timestamp": T0 * 1000 + 60_000, "page_name": "cart"},
        {"event_id": "d", "user_id": 42, "account_id": "acct-1", "event_timestamp": T0 * 1000 + 120_000, "page_name": "home"},
        {"event_id": "e", "user_id": "u1", "event_timestamp": T0 * 1000, "page_name": "home"},
    ])
    write("schema-nested-fields", "Dotted paths: the user, the time and the page inside objects; a path through a non-object is missing, an object where a value is wanted is of the wrong type.",
          Schema(user=("user.id",), event_id="id", time="meta.ts", page="page.path"), [
        {"id": "a", "user": {"id": "u1", "plan": "free"}, "meta": {"ts": iso(T0)}, "page": {"path": "/home", "title": "Home"}},
        {"id": "b", "user": {"id": "u1"}, "meta": {"ts": iso(T0 + 300), "x": [1, {"ts": 5}]}, "page": {"path": "/cart"}},
        {"id": "c", "user": {"id": "u1"}, "meta": {"ts": iso(T0 + 600)}},
        {"id": "d", "user": "u1", "meta": {"ts": iso(T0 + 700)}},
        {"id": "e", "user": {"id": {"v": 1}}, "meta": {"ts": iso(T0 + 800)}},
        {"id": "f", "user": {"id": "u2"}, "meta": "soon", "page": {"path": "/home"}},
    ])
    write("schema-numeric-ids", "Numbers in the user and event id fields are taken as their text: 7 and \"7\" are the same user, event_id 5 and \"5\" the same event (a duplicate); a fraction or a bool is of the wrong type.", d, [
        ev(7, 5, T0 * 1000), ev("7", "5", T0 * 1000), ev(7, 6, T0 * 1000 + 60_000), ev(7, 7.5, T0 * 1000),
        ev(1.5, "x", T0 * 1000), ev("u", True, T0 * 1000),
    ])
    write("schema-bom", "A UTF-8 byte order mark before the first record (Windows tools write one) is skipped.", d, [
        "\ufeff" + json.dumps(ev("u1", "a", T0 * 1000)), ev("u1", "b", T0 * 1000 + 60_000),
    ])
    write("schema-no-event-id", "--event-id-field '': the records have no id; only a byte-identical copy is a duplicate, any other record is another event (the same time and page included).",
          Schema(user=("user_id",), event_id="", time="event_time", page="page"), [
        {"user_id": "u1", "event_time": iso(T0), "page": "home"},
        {"user_id": "u1", "event_time": iso(T0), "page": "home"},
        {"user_id": "u1", "event_time": iso(T0), "page": "home", "referrer": "ad"},
        {"user_id": "u1", "event_time": iso(T0 + 120), "page": "cart"},
        {"user_id": "u2", "event_time": iso(T0 + 60), "page": "home"},
    ])
    write("schema-spark-tutorial", "A Spark-tutorial event file: user_id, an RFC 3339 event_time, no event id, read with --user-field user_id --time-field event_time --event-id-field '' --page-field page.",
          Schema(user=("user_id",), event_id="", time="event_time", page="page"), [
        {"user_id": "alice", "event_time": "2025-12-04T10:00:00Z", "page": "home"},
        {"user_id": "alice", "event_time": "2025-12-04T10:05:00Z", "page": "search"},
        {"user_id": "bob", "event_time": "2025-12-04T10:01:00Z", "page": "home"},
        {"user_id": "alice", "event_time": "2025-12-04T11:00:00Z", "page": "home"},
    ])
    write("schema-rejection-reasons", "Each reason says what was wrong: missing_user (absent, null, \"\") vs user_not_string (an object), missing_event_id vs event_id_not_string, missing_time vs time_not_number (a fraction) vs bad_time_format (a word) vs time_out_of_range (negative).", auto, [
        ev("u1", "ok", T0 * 1000),
        {"event_id": "a", "event_timestamp": T0 * 1000},
        ev(None, "b", T0 * 1000), ev("", "c", T0 * 1000), ev({"id": "u1"}, "d", T0 * 1000), ev(["u1"], "d2", T0 * 1000),
        ev("u1", None, T0 * 1000), ev("u1", {"n": 1}, T0 * 1000),
        ev("u1", "e", None), {"event_id": "f", "uuid": "u1"}, ev("u1", "g", 1.7e12), ev("u1", "h", True),
        ev("u1", "i", "yesterday"), ev("u1", "j", -5), ev("u1", "k", "99999999999999999999"),
    ])


if __name__ == "__main__":
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    main()
