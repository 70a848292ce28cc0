package gen

import (
	"math"
	"testing"
)

func TestFastExpMatchesMathExp(t *testing.T) {
	for x := -40.0; x <= 40; x += 0.0137 {
		got, want := fastExp(x), math.Exp(x)
		if rel := math.Abs(got-want) / want; rel > 1e-6 {
			t.Fatalf("fastExp(%g) = %g, want %g (relative error %g)", x, got, want, rel)
		}
	}
	if fastExp(-1000) != 0 || !math.IsInf(fastExp(1000), 1) {
		t.Fatal("fastExp does not saturate")
	}
}
