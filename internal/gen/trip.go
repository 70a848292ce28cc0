package gen

// fill decides what v's current event records, so that its content fits
// the visit so far: the item booked is the one last viewed, a confirmation
// carries the booking's id, a second results view is a filter or the next
// page.
func (s *sim) fill(ev *event, v *visit) {
	ev.timeMs = v.next
	ev.user = v.user
	ev.uuid = v.uuid
	ev.page = v.page
	ev.flags, ev.flaw, ev.variant, ev.count = 0, flawNone, 0, 0
	if s.live && !v.inStream {
		v.inStream = true
		ev.flags = firstOfVisit
	}
	t := &v.trip
	switch v.page {
	case home:
		ev.act = actHomeView
		if v.prev == noPage {
			ev.act = actLanding
		}
	case search:
		ev.act = actSearch
		if v.searches > 0 {
			if s.rng.IntN(2) == 0 {
				s.newSearch(t)
			} else {
				s.refine(t)
			}
		}
		v.searches++
	case results:
		switch {
		case v.prev != results:
			ev.act = actResults
			v.pageNo = 1
			ev.count = uint16(min(max(s.lognormal(60, 1), 1), 999))
		case s.rng.Float64() < 0.7:
			ev.act = actFilter
			ev.count = uint16(s.rng.IntN(len(filters)))
		default:
			ev.act = actPaginate
			v.pageNo++
			ev.count = v.pageNo
		}
	case details:
		ev.act = actItemView
		s.pickItem(t)
	case booking:
		if v.prev == booking {
			ev.act = actPaymentError
		} else {
			ev.act = actBookingStart
			s.bookings++
			t.bookingID = mix64(s.bookingKey + s.bookings)
		}
		if t.item == 0 { // cannot happen with the chains as they are: booking follows details
			s.pickItem(t)
		}
	case confirmation:
		ev.act = actBookingConfirmed
	case logout:
		ev.act = actLogout
	}
	ev.trip = *t
}

// newSearch starts looking at a new trip.
func (s *sim) newSearch(t *trip) {
	t.product = hotel
	if s.rng.Float64() < 0.4 {
		t.product = flight
	}
	u := s.rng.Float64()
	t.dest = uint8(u * u * float64(len(cities))) // skewed toward popular cities
	if t.dest == t.origin {
		t.dest = uint8((int(t.dest) + 1) % len(cities))
	}
	t.leadDays = uint16(min(max(s.lognormal(30, 0.9), 1), 330))
	t.nights = uint8(min(max(s.lognormal(3, 0.5)+0.5, 1), 21))
	t.guests = 1 + pickWeighted(guestWeights[:], s.rng.Float64())
	t.item = 0
}

// refine changes the dates or the party of the current trip.
func (s *sim) refine(t *trip) {
	switch s.rng.IntN(3) {
	case 0:
		t.leadDays = uint16(max(int(t.leadDays)+s.rng.IntN(15)-7, 1))
	case 1:
		t.nights = uint8(min(max(int(t.nights)+s.rng.IntN(3)-1, 1), 21))
	default:
		t.guests = uint8(1 + s.rng.IntN(4))
	}
}

// pickItem chooses the hotel or flight viewed and its price.
func (s *sim) pickItem(t *trip) {
	if t.product == hotel {
		u := s.rng.Float64()
		t.item = 100000 + uint32(t.dest)*1000 + uint32(u*u*1000)
		t.priceCents = uint32(min(s.lognormal(11000, 0.5), 200000)) * uint32(t.nights)
		return
	}
	t.item = uint32(s.rng.IntN(len(airlines)))<<16 | uint32(10+s.rng.IntN(2990))
	t.priceCents = uint32(min(s.lognormal(16000, 0.6), 500000)) * uint32(t.guests)
}
