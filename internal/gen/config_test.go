package gen

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestConfigErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		field string
		edit  func(*Config)
	}{
		{"NumUsers", func(c *Config) { c.NumUsers = -1 }},
		{"Rate", func(c *Config) { c.NumUsers, c.Events, c.Rate, c.Duration = 0, 0, 1e6, time.Second }},
		{"NumUsers", func(c *Config) { c.NumUsers = MaxNumUsers + 1 }},
		{"Events", func(c *Config) { c.Events = -1 }},
		{"Events", func(c *Config) { c.Events = 0 }},
		{"Events", func(c *Config) { c.Rate, c.Duration = 10, time.Hour }},
		{"Rate", func(c *Config) { c.Rate = -1 }},
		{"Rate", func(c *Config) { c.Rate = math.NaN() }},
		{"Rate", func(c *Config) { c.Events, c.Rate, c.Duration = 0, 1e-9, time.Second }},
		{"Duration", func(c *Config) { c.Duration = -time.Second }},
		{"DuplicateRate", func(c *Config) { c.DuplicateRate = 0.6 }},
		{"MalformedRate", func(c *Config) { c.MalformedRate = -0.1 }},
		{"OutOfOrderRate", func(c *Config) { c.OutOfOrderRate = math.NaN() }},
		{"Start", func(c *Config) { c.Start = time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC) }},
	} {
		c := DefaultConfig()
		tc.edit(&c)
		_, err := New(c)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field {
			t.Errorf("%+v: error %v, want a ConfigError on %s", c, err, tc.field)
		}
	}
}

func TestConfigFillsInTheMissingOne(t *testing.T) {
	c := DefaultConfig()
	c.Events, c.Rate, c.Duration = 0, 50, 10*time.Minute
	g, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Config().Events; got != 30_000 {
		t.Errorf("50/s for 10m: Events = %d, want 30000", got)
	}

	c = DefaultConfig()
	c.Events, c.Duration = 36_000, time.Hour
	if g, err = New(c); err != nil {
		t.Fatal(err)
	}
	if got := g.Config().Rate; got != 10 {
		t.Errorf("36000 over 1h: Rate = %g, want 10", got)
	}

	c = DefaultConfig()
	c.Start = time.Time{}
	if g, err = New(c); err != nil {
		t.Fatal(err)
	}
	// Default pacing: about 20 events per user per day.
	if got := g.Config().Duration; got != 24*time.Hour {
		t.Errorf("1M events for 50k users span %s, want 24h", got)
	}
	if got := g.Config().Start.Format(time.RFC3339); got != DefaultStartRFC3339 {
		t.Errorf("zero Start became %s", got)
	}
}

// A rate the users cannot sustain is refused with the number of users that
// would, and that number works.
func TestRateTooHighSaysHowManyUsers(t *testing.T) {
	c := DefaultConfig()
	c.Rate = 1000
	_, err := New(c)
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Field != "Rate" {
		t.Fatalf("rate 1000/s for 50k users: %v", err)
	}
	i := strings.Index(ce.Msg, "at least ")
	if i < 0 {
		t.Fatalf("message does not say how many users: %s", ce.Msg)
	}
	users, err := strconv.Atoi(strings.Fields(ce.Msg[i+len("at least "):])[0])
	if err != nil {
		t.Fatalf("message: %s: %v", ce.Msg, err)
	}
	c.NumUsers = users
	c.Events = 200_000
	if _, err := New(c); err != nil {
		t.Fatalf("with the %d users suggested: %v", users, err)
	}
	lines := collect(t, c)
	if len(lines) != 200_000 {
		t.Fatalf("%d records", len(lines))
	}
}

// Without a user count the generator chooses one the rate can be made by:
// the README's "--rate 20000 --duration 5m" asked for 14,702,612 users.
func TestNumUsersChosenFromTheRate(t *testing.T) {
	x := modelExpectations()
	for _, tc := range []struct {
		name     string
		edit     func(*Config)
		defaults bool // DefaultNumUsers suffice
	}{
		{"events only", func(c *Config) {}, true},
		{"low rate", func(c *Config) { c.Events, c.Rate, c.Duration = 0, 50, time.Hour }, true},
		{"README rate", func(c *Config) { c.Events, c.Rate, c.Duration = 0, 20_000, 5*time.Minute }, false},
		{"rate from events over a duration", func(c *Config) { c.Events, c.Duration = 600_000, time.Minute }, false},
		{"events at a rate", func(c *Config) { c.Events, c.Rate = 100_000, 5000 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			c.NumUsers = 0
			tc.edit(&c)
			r, err := c.resolve(x)
			if err != nil {
				t.Fatalf("%+v: %v", c, err)
			}
			if tc.defaults {
				if r.NumUsers != DefaultNumUsers {
					t.Fatalf("NumUsers = %d, want the default %d", r.NumUsers, DefaultNumUsers)
				}
				return
			}
			if m := maxRate(r, x); m < r.Rate {
				t.Fatalf("%d users sustain %g events/s, not the %g asked", r.NumUsers, m, r.Rate)
			}
			// The fewest: a few fewer users could not keep up (the same
			// bound New's error names).
			fewer := r
			fewer.NumUsers = r.NumUsers - 1 - r.NumUsers/1_000_000
			if _, err := fewer.resolve(x); err == nil {
				t.Errorf("%d users would do too; chose %d", fewer.NumUsers, r.NumUsers)
			}
		})
	}
}
