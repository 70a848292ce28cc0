package event

// Fields are the parts of a record the sessionizer needs. The byte slices
// alias memory owned by whoever produced them (the Parser's buffers, a CSV
// row) and are valid only until the next call on that producer: copy what
// you keep.
type Fields struct {
	// UUID is the user key: the user field's value, or for a composite
	// key (several --user-field) the parts as a JSON array of strings,
	// ["alice","acct-7"].
	UUID []byte
	// EventID is the event id field's value, or without one a hash of
	// the record (EventIDHashLen hex digits).
	EventID     []byte
	TimestampMs int64
	PageName    []byte
	// Extra are the values at Schema.Extra, in order (the session rules'
	// fields), as the decoder found them; nil without extra fields.
	Extra []Value
}
