package event

import (
	"errors"
	"time"
)

// Dates are parsed by hand rather than with time.Parse: time.Parse needs a
// string (a copy of the record's bytes) and allocates its errors, and the
// parser must stay allocation-free on every record, bad ones included.

// date is a parsed wall-clock time before its zone is applied.
type date struct {
	year, month, day, hour, min, sec int
	nanos                            int
	offsetSec                        int
	hasOffset                        bool
}

// parseISO reads YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z|±HH:MM|±HHMM]. With
// requireOffset (rfc3339) the offset must be there; otherwise an
// offset-less time is read in loc.
func parseISO(b []byte, loc *time.Location, requireOffset bool) (int64, Reason) {
	var d date
	i, ok := 0, true
	d.year, i, ok = fixedDigits(b, i, 4, ok)
	i, ok = lit(b, i, '-', ok)
	d.month, i, ok = fixedDigits(b, i, 2, ok)
	i, ok = lit(b, i, '-', ok)
	d.day, i, ok = fixedDigits(b, i, 2, ok)
	if ok && i < len(b) && (b[i] == 'T' || b[i] == 't' || b[i] == ' ') {
		i++
	} else {
		ok = false
	}
	d.hour, i, ok = fixedDigits(b, i, 2, ok)
	i, ok = lit(b, i, ':', ok)
	d.min, i, ok = fixedDigits(b, i, 2, ok)
	i, ok = lit(b, i, ':', ok)
	d.sec, i, ok = fixedDigits(b, i, 2, ok)
	if !ok {
		return 0, BadTimeFormat
	}
	i, ok = fraction(b, i, &d)
	if !ok {
		return 0, BadTimeFormat
	}
	if i < len(b) {
		switch b[i] {
		case 'Z', 'z':
			d.hasOffset = true
			i++
		case '+', '-':
			sign := 1
			if b[i] == '-' {
				sign = -1
			}
			i++
			var oh, om int
			oh, i, ok = fixedDigits(b, i, 2, true)
			if ok && i < len(b) && b[i] == ':' {
				i++
			}
			if ok && i < len(b) {
				om, i, ok = fixedDigits(b, i, 2, ok)
			}
			if !ok || oh > 23 || om > 59 {
				return 0, BadTimeFormat
			}
			d.hasOffset, d.offsetSec = true, sign*(oh*3600+om*60)
		default:
			return 0, BadTimeFormat
		}
	}
	if i != len(b) || (requireOffset && !d.hasOffset) {
		return 0, BadTimeFormat
	}
	return d.millis(loc)
}

// millis validates the fields and returns epoch milliseconds.
func (d *date) millis(loc *time.Location) (int64, Reason) {
	if d.month < 1 || d.month > 12 || d.day < 1 || d.day > daysIn(d.year, d.month) ||
		d.hour > 23 || d.min > 59 || d.sec > 59 {
		return 0, BadTimeFormat
	}
	var ms int64
	if d.hasOffset || loc == nil || loc == time.UTC {
		days := daysFromCivil(d.year, d.month, d.day)
		secs := days*86400 + int64(d.hour*3600+d.min*60+d.sec) - int64(d.offsetSec)
		ms = secs*1000 + int64(d.nanos/1e6)
	} else {
		ms = time.Date(d.year, time.Month(d.month), d.day, d.hour, d.min, d.sec, d.nanos, loc).UnixMilli()
	}
	if ms < 0 || ms > maxMs {
		return 0, TimeOutOfRange
	}
	return ms, OK
}

// fraction reads an optional .digits (or ,digits) at i into d.nanos.
func fraction(b []byte, i int, d *date) (int, bool) {
	if i >= len(b) || (b[i] != '.' && b[i] != ',') {
		return i, true
	}
	return fractionDigits(b, i+1, &d.nanos)
}

// fractionDigits reads one or more digits of a fraction of a second at i
// into nanos (digits past the ninth are read and dropped).
func fractionDigits(b []byte, i int, nanos *int) (int, bool) {
	start := i
	scale := int(1e8)
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		*nanos += int(b[i]-'0') * scale
		scale /= 10
		i++
	}
	return i, i > start
}

// field is the date field of a layout letter and its width in digits.
func (d *date) field(kind byte) (*int, int) {
	switch kind {
	case 'y':
		return &d.year, 4
	case 'M':
		return &d.month, 2
	case 'd':
		return &d.day, 2
	case 'H':
		return &d.hour, 2
	case 'm':
		return &d.min, 2
	}
	return &d.sec, 2
}

func fixedDigits(b []byte, i, n int, ok bool) (int, int, bool) {
	if !ok || i+n > len(b) {
		return 0, i, false
	}
	v := 0
	for _, c := range b[i : i+n] {
		if c < '0' || c > '9' {
			return 0, i, false
		}
		v = v*10 + int(c-'0')
	}
	return v, i + n, true
}

func lit(b []byte, i int, c byte, ok bool) (int, bool) {
	if !ok || i >= len(b) || b[i] != c {
		return i, false
	}
	return i + 1, true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is days since 1970-01-01 of a proleptic Gregorian date
// (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// A layout is a Java/Spark-style pattern: yyyy MM dd HH mm ss, a fraction
// S...S or f...f (any number of digits is read), literal punctuation, text
// in single quotes ('T'), and one optional part in brackets ([.SSS]).
type layoutItem struct {
	kind     byte // 'y' 'M' 'd' 'H' 'm' 's' fields, 'f' fraction, 'l' literal, '[' optional start, ']' end
	lit      byte
	optional bool
}

var errLayout = errors.New("not a layout: use yyyy, MM, dd, HH, mm, ss, SSS (fraction), quoted text ('T'), punctuation and one [optional] part")

func parseLayout(s string) ([]layoutItem, error) {
	var items []layoutItem
	seen := map[byte]bool{}
	optional := false
	for i := 0; i < len(s); {
		c := s[i]
		run := 1
		for i+run < len(s) && s[i+run] == c {
			run++
		}
		switch {
		case c == 'y' && run == 4, (c == 'M' || c == 'd' || c == 'H' || c == 'm' || c == 's') && run == 2:
			items = append(items, layoutItem{kind: c, optional: optional})
			seen[c] = true
			i += run
		case c == 'S' || c == 'f':
			items = append(items, layoutItem{kind: 'f', optional: optional})
			i += run
		case c == '[' && !optional:
			optional = true
			i++
		case c == ']' && optional:
			optional = false
			i++
		case c == '\'':
			end := i + 1
			for end < len(s) && s[end] != '\'' {
				end++
			}
			if end >= len(s) || end == i+1 {
				return nil, errLayout
			}
			for j := i + 1; j < end; j++ {
				items = append(items, layoutItem{kind: 'l', lit: s[j], optional: optional})
			}
			i = end + 1
		case (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80:
			return nil, errLayout
		default:
			items = append(items, layoutItem{kind: 'l', lit: c, optional: optional})
			i++
		}
	}
	for _, need := range []byte("yMdHms") {
		if !seen[need] {
			return nil, errLayout
		}
	}
	if optional {
		return nil, errLayout
	}
	return items, nil
}

// parseLayoutValue reads b by a layout; times are in loc.
func parseLayoutValue(items []layoutItem, b []byte, loc *time.Location) (int64, Reason) {
	var d date
	i := 0
	for k := 0; k < len(items); k++ {
		it := items[k]
		if it.optional && (k == 0 || !items[k-1].optional) {
			// An optional part is there when its first item matches.
			if !layoutItemMatches(it, b, i) {
				for k < len(items) && items[k].optional {
					k++
				}
				k--
				continue
			}
		}
		var ok bool
		switch it.kind {
		case 'l':
			i, ok = lit(b, i, it.lit, true)
		case 'f':
			i, ok = fractionDigits(b, i, &d.nanos)
		default:
			p, width := d.field(it.kind)
			*p, i, ok = fixedDigits(b, i, width, true)
		}
		if !ok {
			return 0, BadTimeFormat
		}
	}
	if i != len(b) {
		return 0, BadTimeFormat
	}
	return d.millis(loc)
}

func layoutItemMatches(it layoutItem, b []byte, i int) bool {
	if i >= len(b) {
		return false
	}
	if it.kind == 'l' {
		return b[i] == it.lit
	}
	return b[i] >= '0' && b[i] <= '9'
}
