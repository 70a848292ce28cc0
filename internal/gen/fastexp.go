package gen

import "math"

// fastExp is e**x to about 1e-7 relative error, several times faster than
// math.Exp. It draws the log-normal dwell times, one or two per event,
// which are then rounded to milliseconds: more precision is wasted.
func fastExp(x float64) float64 {
	switch {
	case x > 700:
		return math.Inf(1)
	case x < -700:
		return 0
	}
	// x = k*ln2 + r with |r| <= ln2/2, so e**x = 2**k * e**r.
	k := math.Floor(x*math.Log2E + 0.5)
	r := x - k*math.Ln2
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720+r*(1.0/5040)))))))
	return p * math.Float64frombits(uint64(int64(k)+1023)<<52)
}
