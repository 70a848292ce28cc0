package gen

// action is what an event records on its page: event_name and event_type.
type action uint8

const (
	actLanding action = iota
	actHomeView
	actSearch
	actResults
	actFilter
	actPaginate
	actItemView
	actBookingStart
	actPaymentError
	actBookingConfirmed
	actLogout
	numActions
)

var actionNames = [numActions]struct{ name, typ string }{
	actLanding:          {"page_view", "view"},
	actHomeView:         {"page_view", "view"},
	actSearch:           {"search", "submit"},
	actResults:          {"results_view", "view"},
	actFilter:           {"filter_apply", "click"},
	actPaginate:         {"paginate", "click"},
	actItemView:         {"item_view", "view"},
	actBookingStart:     {"booking_start", "submit"},
	actPaymentError:     {"payment_error", "error"},
	actBookingConfirmed: {"booking_confirmed", "view"},
	actLogout:           {"logout", "click"},
}

type product uint8

const (
	hotel product = iota
	flight
)

// trip is what a visitor is looking at: the context of event_value and
// booking_details. It is copied into each event so that rendering, which
// may happen later for a delayed or re-sent record, needs nothing else.
type trip struct {
	product    product
	origin     uint8 // index into cities; flights only
	dest       uint8 // index into cities
	currency   uint8
	referrer   uint8
	nights     uint8 // hotel nights
	guests     uint8 // hotel guests or flight passengers
	leadDays   uint16
	item       uint32 // hotel number, or airline<<16 | flight number
	priceCents uint32
	bookingID  uint64
}

// flaw is how a malformed record is broken.
type flaw uint8

const (
	flawNone flaw = iota
	flawTruncated
	flawSingleQuotes
	flawNoUUID
	flawNoEventID
	flawBadTimestamp
)

// Flags describe a record's deliberate imperfections.
type Flags uint8

const (
	// Duplicate: an earlier record re-sent byte for byte.
	Duplicate Flags = 1 << iota
	// Malformed: not JSON, or missing uuid or event_id, or a bad timestamp.
	Malformed
	// OutOfOrder: delivered late, after events with later event times.
	OutOfOrder
	// numericTimestamp: event_timestamp is a JSON integer (valid input,
	// not an imperfection).
	numericTimestamp
	// firstOfVisit: the visit's first event in the stream.
	firstOfVisit

	internalFlags = numericTimestamp | firstOfVisit
)

// event is one record to render, fully decided.
type event struct {
	timeMs  int64
	arrival int64  // delivery time, the output order
	seq     uint64 // tie-break in the delivery queue: first queued first out
	id      uint64 // event counter, rendered through mix64
	user    int32
	uuid    [36]byte // the user's id, cached from the visit
	page    page
	act     action
	flags   Flags
	flaw    flaw
	variant uint16 // how a flaw is rendered
	count   uint16 // result count, page number or filter index
	trip    trip
}
