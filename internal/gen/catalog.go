package gen

// Read-only tables of what the site sells. Cities are listed roughly by
// popularity; destinations are drawn with a skew toward the top.
var cities = [...]struct{ code, name string }{
	{"LON", "London"}, {"PAR", "Paris"}, {"NYC", "New York"}, {"BCN", "Barcelona"},
	{"ROM", "Rome"}, {"AMS", "Amsterdam"}, {"LIS", "Lisbon"}, {"BER", "Berlin"},
	{"MAD", "Madrid"}, {"DXB", "Dubai"}, {"TYO", "Tokyo"}, {"IST", "Istanbul"},
	{"PRG", "Prague"}, {"VIE", "Vienna"}, {"MIL", "Milan"}, {"ATH", "Athens"},
	{"BKK", "Bangkok"}, {"SIN", "Singapore"}, {"MIA", "Miami"}, {"LAX", "Los Angeles"},
	{"DUB", "Dublin"}, {"CPH", "Copenhagen"}, {"BUD", "Budapest"}, {"NCE", "Nice"},
	{"PMI", "Palma"}, {"FCO", "Florence"}, {"OPO", "Porto"}, {"EDI", "Edinburgh"},
	{"SFO", "San Francisco"}, {"CUN", "Cancun"}, {"SYD", "Sydney"}, {"HKG", "Hong Kong"},
	{"MRS", "Marseille"}, {"ZRH", "Zurich"}, {"STO", "Stockholm"}, {"OSL", "Oslo"},
	{"KRK", "Krakow"}, {"VCE", "Venice"}, {"MLA", "Valletta"}, {"RAK", "Marrakesh"},
}

var airlines = [...]string{"BA", "LH", "AF", "KL", "IB", "TP", "UA", "DL", "AA", "EK", "FR", "U2", "VY", "AZ", "SK", "LX"}

var currencies = [...]string{"EUR", "USD", "GBP", "CHF", "SEK", "PLN"}

var currencyWeights = [len(currencies)]float64{0.45, 0.25, 0.17, 0.05, 0.04, 0.04}

// referrers is where a landing visit came from.
var referrers = [...]string{"direct", "google", "newsletter", "affiliate", "meta_ads", "app_push", "bing"}

var referrerWeights = [len(referrers)]float64{0.34, 0.30, 0.10, 0.09, 0.09, 0.05, 0.03}

// guestWeights are the party sizes 1 to 4.
var guestWeights = [...]float64{0.35, 0.45, 0.1, 0.1}

// filters are what visitors click on a results page.
var filters = [...]string{"price_asc", "stars_4_plus", "free_cancellation", "rating_8_plus", "breakfast", "nonstop", "depart_morning"}

// pickWeighted returns the index that u (in [0,1)) falls into under weights
// summing to 1.
func pickWeighted(weights []float64, u float64) uint8 {
	for i, w := range weights {
		if u < w {
			return uint8(i)
		}
		u -= w
	}
	return uint8(len(weights) - 1)
}
