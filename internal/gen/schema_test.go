package gen

import (
	"regexp"
	"slices"
	"testing"
)

var (
	topKeys     = []string{"event_id", "page_name", "event_timestamp", "booking_details", "uuid", "event_details"}
	detailKeys  = []string{"event_name", "event_type", "event_value"}
	hotelKeys   = []string{"booking_id", "product", "hotel_id", "city", "check_in", "nights", "guests", "price", "currency", "status"}
	flightKeys  = []string{"booking_id", "product", "flight_id", "route", "departure", "passengers", "price", "currency", "status"}
	eventIDForm = regexp.MustCompile(`^[0-9a-f]{16}$`)
	dateForm    = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// Every well-formed line has the schema: fields in order, the right types,
// booking details exactly on booking pages.
func TestWellFormedLinesHaveTheSchema(t *testing.T) {
	lines := realistic(t)
	numeric, valid := 0, 0
	for _, l := range lines {
		if !l.valid {
			continue
		}
		valid++
		e := &l.ev
		if got := objectKeys([]byte(l.raw)); !slices.Equal(got, topKeys) {
			t.Fatalf("keys %v, want %v: %s", got, topKeys, l.raw)
		}
		if got := objectKeys(e.detailRaw); !slices.Equal(got, detailKeys) {
			t.Fatalf("event_details keys %v, want %v: %s", got, detailKeys, l.raw)
		}
		if !eventIDForm.MatchString(e.eventID) {
			t.Fatalf("event_id %q is not 16 hex digits", e.eventID)
		}
		if !slices.Contains(pageNames[:], e.page) {
			t.Fatalf("unknown page_name %q", e.page)
		}
		if e.name == "" || e.typ == "" || e.value == "" {
			t.Fatalf("empty event_details field: %s", l.raw)
		}
		if e.numericTS {
			numeric++
		}
		onBookingPage := e.page == "booking" || e.page == "confirmation"
		if onBookingPage != (e.booking != nil) {
			t.Fatalf("page %s with booking_details %s", e.page, e.bookingRaw)
		}
		if e.booking != nil {
			checkBooking(t, e, l.raw)
		} else if string(e.bookingRaw) != "null" {
			t.Fatalf("booking_details is %s, want null or an object", e.bookingRaw)
		}
	}
	// About 5% of records carry the timestamp as a JSON integer.
	if share := float64(numeric) / float64(valid); share < 0.04 || share > 0.06 {
		t.Errorf("%.3f of timestamps are JSON integers, want about %.2f", share, numericTimestampShare)
	}
}

func checkBooking(t *testing.T, e *parsedEvent, raw string) {
	t.Helper()
	want := hotelKeys
	if e.booking["product"] == "flight" {
		want = flightKeys
	}
	if got := objectKeys(e.bookingRaw); !slices.Equal(got, want) {
		t.Fatalf("booking_details keys %v, want %v: %s", got, want, raw)
	}
	price, ok := e.booking["price"].(float64)
	if !ok || price <= 0 {
		t.Fatalf("price %v: %s", e.booking["price"], raw)
	}
	for _, k := range []string{"check_in", "departure"} {
		if d, ok := e.booking[k].(string); ok && !dateForm.MatchString(d) {
			t.Fatalf("%s %q is not a date: %s", k, d, raw)
		}
	}
	if !slices.Contains(currencies[:], e.booking["currency"].(string)) {
		t.Fatalf("currency %v: %s", e.booking["currency"], raw)
	}
}

// The average line is about 265 bytes: the schema's fixed part, with
// ", " separators, a 36-character uuid and a 16-digit event_id, is 230.
func TestLineLength(t *testing.T) {
	var total int
	lines := realistic(t)
	for _, l := range lines {
		total += len(l.raw) + 1
	}
	if avg := float64(total) / float64(len(lines)); avg < 230 || avg > 300 {
		t.Errorf("average line %.0f bytes, want 230..300", avg)
	}
}
