package cli

import "testing"

// TestSizeFlagZero: a size flag whose help says what 0 means takes 0;
// the others still want a positive size.
func TestSizeFlagZero(t *testing.T) {
	for _, tc := range []struct {
		def     int64
		arg     string
		want    int64
		wantErr bool
	}{
		{0, "0", 0, false},
		{0, "512MiB", 512 << 20, false},
		{0, "-1", 0, true},
		{1 << 20, "0", 0, true},
		{1 << 20, "2KiB", 2 << 10, false},
	} {
		var n int64
		err := newByteSize(&n, tc.def).Set(tc.arg)
		if (err != nil) != tc.wantErr || (err == nil && n != tc.want) {
			t.Errorf("default %d, Set(%q): %d, %v; want %d, error %v", tc.def, tc.arg, n, err, tc.want, tc.wantErr)
		}
	}
}
