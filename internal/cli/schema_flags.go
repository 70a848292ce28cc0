package cli

import (
	"github.com/spf13/cobra"

	"github.com/sessionize/sessionize/internal/event"
)

// schemaFlags say where the events keep the user, event id, time and page,
// shared by every command that reads events (batch, run, check, produce
// --input).
type schemaFlags struct {
	user                                          []string
	eventID, timeField, timeFormat, tz, pageField string
}

func (sf *schemaFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringArrayVar(&sf.user, "user-field", []string{event.DefaultUserField},
		"field holding the user (a dotted path such as user.id for a nested field; numbers are taken as their text); "+
			`repeat for a composite key: the sessions' uuid column then holds the parts as a JSON array, ["u1","acct-7"]`)
	fs.StringVar(&sf.eventID, "event-id-field", event.DefaultEventIDField,
		"field holding the event id (numbers are taken as their text); '' or none: the events have no id, only a "+
			"byte-identical copy of a record (a re-sent one) is a duplicate, and the event id in the outputs is a "+
			"16-hex-digit hash of the record")
	fs.StringVar(&sf.timeField, "time-field", event.DefaultTimeField, "field holding the event time")
	fs.StringVar(&sf.timeFormat, "time-format", "auto",
		"how the time is written: auto (an epoch number, or digit string, by its magnitude: below 1e11 seconds, "+
			"below 1e14 ms, below 1e17 us, else ns; or an RFC 3339 / 'yyyy-MM-dd HH:mm:ss[.fff]' string), "+
			"s, ms, us, ns (epoch numbers or digit strings only), rfc3339 (with offset), or a layout such as "+
			"'yyyy-MM-dd HH:mm:ss[.SSS]' or \"dd/MM/yyyy'T'HH:mm:ss\"")
	fs.StringVar(&sf.tz, "timezone", "UTC", "time zone (IANA name) of times written without an offset: layouts, and auto's date strings")
	fs.StringVar(&sf.pageField, "page-field", event.DefaultPageField, "field holding the page ('' or none: no pages)")
}

func (sf *schemaFlags) schema() (event.Schema, error) {
	tf, err := event.ParseTimeFormat(sf.timeFormat, sf.tz)
	if err != nil {
		return event.Schema{}, usagef("invalid --time-format/--timezone: %v", err)
	}
	s, err := event.NewSchema(sf.user, sf.eventID, sf.timeField, sf.pageField, tf)
	if err != nil {
		return event.Schema{}, usagef("invalid event schema flags (--user-field, --event-id-field, --time-field, --page-field): %v", err)
	}
	return s, nil
}
