package gen

import (
	"strconv"
	"time"

	schema "github.com/sessionize/sessionize/internal/event"
)

// How a field is written; the zero value is the well-formed way.
type fieldMode uint8

const (
	fieldOK fieldMode = iota
	fieldOmitted
	fieldEmpty
	fieldNull
)

// Ways an event_timestamp is bad, chosen by flaw variant.
const numBadTimestamps = 5

// appendLine appends ev as one JSON object in the schema's field order. All
// strings come from the tables in this package and need no escaping, which
// is why the line is built by hand: encoding/json would cost more than the
// whole simulation. The result depends on ev and the keys alone, so a
// re-sent duplicate is byte-identical to its original.
func appendLine(b []byte, ev *event, idKey uint64) []byte {
	idMode, uuidMode := fieldOK, fieldOK
	switch ev.flaw {
	case flawNoEventID:
		idMode = fieldOmitted + fieldMode(ev.variant%3)
	case flawNoUUID:
		uuidMode = fieldOmitted + fieldMode(ev.variant%3)
	}
	b = append(b, '{')
	if idMode != fieldOmitted {
		b = appendKey(b, schema.DefaultEventIDField)
		switch idMode {
		case fieldOK:
			b = append(b, '"')
			b = appendEventID(b, idKey, ev.id)
			b = append(b, '"')
		case fieldEmpty:
			b = append(b, `""`...)
		default:
			b = append(b, "null"...)
		}
		b = append(b, ", "...)
	}
	b = appendKey(b, schema.DefaultPageField)
	b = append(b, '"')
	b = append(b, pageNames[ev.page]...)
	b = append(b, `", `...)
	b = appendKey(b, schema.DefaultTimeField)
	b = appendTimestamp(b, ev)
	b = append(b, `, "booking_details": `...)
	switch ev.act {
	case actBookingStart:
		b = appendBooking(b, ev, "pending")
	case actPaymentError:
		b = appendBooking(b, ev, "payment_failed")
	case actBookingConfirmed:
		b = appendBooking(b, ev, "confirmed")
	default:
		b = append(b, "null"...)
	}
	switch uuidMode {
	case fieldOK:
		b = appendKey(append(b, ", "...), schema.DefaultUserField)
		b = append(b, '"')
		b = append(b, ev.uuid[:]...)
		b = append(b, '"')
	case fieldEmpty:
		b = append(appendKey(append(b, ", "...), schema.DefaultUserField), `""`...)
	case fieldNull:
		b = append(appendKey(append(b, ", "...), schema.DefaultUserField), "null"...)
	}
	b = append(b, `, "event_details": {"event_name": "`...)
	an := &actionNames[ev.act]
	b = append(b, an.name...)
	b = append(b, `", "event_type": "`...)
	b = append(b, an.typ...)
	b = append(b, `", "event_value": "`...)
	b = appendValue(b, ev)
	return append(b, `"}}`...)
}

// appendKey appends "name": with the field names of the default event
// schema, which event owns.
func appendKey(b []byte, name string) []byte {
	b = append(b, '"')
	b = append(b, name...)
	return append(b, `": `...)
}

func appendTimestamp(b []byte, ev *event) []byte {
	if ev.flaw == flawBadTimestamp {
		switch ev.variant % numBadTimestamps {
		case 0:
			return append(b, `"yesterday"`...)
		case 1: // a US-style date: only a --time-format layout reads it
			// (RFC 3339 is valid input: the default format reads it)
			b = append(b, '"')
			b = time.UnixMilli(ev.timeMs).UTC().AppendFormat(b, "01/02/2006 15:04:05")
			return append(b, '"')
		case 2:
			return append(b, "null"...)
		case 3: // a float in exponent form, as some JSON encoders write it
			return strconv.AppendFloat(b, float64(ev.timeMs), 'e', -1, 64)
		default:
			return append(b, `""`...)
		}
	}
	if ev.flags&numericTimestamp != 0 {
		return strconv.AppendInt(b, ev.timeMs, 10)
	}
	b = append(b, '"')
	b = strconv.AppendInt(b, ev.timeMs, 10)
	return append(b, '"')
}

// appendValue appends event_value: what the action was about.
func appendValue(b []byte, ev *event) []byte {
	t := &ev.trip
	switch ev.act {
	case actLanding:
		return append(b, referrers[t.referrer]...)
	case actHomeView:
		return append(b, "home"...)
	case actSearch:
		if t.product == hotel {
			return append(b, cities[t.dest].name...)
		}
		return appendRoute(b, t)
	case actResults, actPaginate:
		return strconv.AppendUint(b, uint64(ev.count), 10)
	case actFilter:
		return append(b, filters[ev.count]...)
	case actItemView, actBookingStart:
		return appendItem(b, t)
	case actPaymentError:
		return append(b, "card_declined"...)
	case actBookingConfirmed:
		return appendBookingID(b, t)
	default:
		return append(b, "account_menu"...)
	}
}

func appendRoute(b []byte, t *trip) []byte {
	b = append(b, cities[t.origin].code...)
	b = append(b, '-')
	return append(b, cities[t.dest].code...)
}

// appendItem appends a hotel id such as H-107042 or a flight such as BA0117.
func appendItem(b []byte, t *trip) []byte {
	if t.product == hotel {
		b = append(b, "H-"...)
		return strconv.AppendUint(b, uint64(t.item), 10)
	}
	b = append(b, airlines[t.item>>16]...)
	n := t.item & 0xffff
	for d := uint32(1000); d > 0; d /= 10 {
		b = append(b, byte('0'+n/d%10))
	}
	return b
}

func appendBookingID(b []byte, t *trip) []byte {
	b = append(b, "BK-"...)
	return appendHex(b, t.bookingID, 10)
}

func appendBooking(b []byte, ev *event, status string) []byte {
	t := &ev.trip
	b = append(b, `{"booking_id": "`...)
	b = appendBookingID(b, t)
	day := time.UnixMilli(ev.timeMs + int64(t.leadDays)*86_400_000).UTC()
	if t.product == hotel {
		b = append(b, `", "product": "hotel", "hotel_id": "`...)
		b = appendItem(b, t)
		b = append(b, `", "city": "`...)
		b = append(b, cities[t.dest].code...)
		b = append(b, `", "check_in": "`...)
		b = day.AppendFormat(b, time.DateOnly)
		b = append(b, `", "nights": `...)
		b = strconv.AppendUint(b, uint64(t.nights), 10)
		b = append(b, `, "guests": `...)
	} else {
		b = append(b, `", "product": "flight", "flight_id": "`...)
		b = appendItem(b, t)
		b = append(b, `", "route": "`...)
		b = appendRoute(b, t)
		b = append(b, `", "departure": "`...)
		b = day.AppendFormat(b, time.DateOnly)
		b = append(b, `", "passengers": `...)
	}
	b = strconv.AppendUint(b, uint64(t.guests), 10)
	b = append(b, `, "price": `...)
	b = strconv.AppendUint(b, uint64(t.priceCents/100), 10)
	c := t.priceCents % 100
	b = append(b, '.', byte('0'+c/10), byte('0'+c%10))
	b = append(b, `, "currency": "`...)
	b = append(b, currencies[t.currency]...)
	b = append(b, `", "status": "`...)
	b = append(b, status...)
	return append(b, `"}`...)
}

// breakLine turns a rendered line into one that is not JSON: cut short, as
// by a crashed writer, or with single quotes, as by a Python str() of a
// dict.
func breakLine(b []byte, ev *event) []byte {
	if ev.flaw == flawSingleQuotes {
		for i, c := range b {
			if c == '"' {
				b[i] = '\''
			}
		}
		return b
	}
	cut := len(b) * (20 + int(ev.variant)%70) / 100
	return b[:max(cut, 1)]
}
