package testwait

import (
	"testing"
	"time"
)

func TestParseScale(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		bad  bool
	}{
		{"", 1, false}, {"1", 1, false}, {"2.5", 2.5, false}, {"0.5", 0.5, false},
		{"0", 1, true}, {"-3", 1, true}, {"NaN", 1, true}, {"Inf", 1, true}, {"fast", 1, true},
	} {
		got, err := parseScale(tc.in)
		if got != tc.want || (err != nil) != tc.bad {
			t.Errorf("parseScale(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

func TestFor(t *testing.T) {
	n := 0
	if !For(time.Minute, func() bool { n++; return n == 3 }) || n != 3 {
		t.Errorf("For stopped after %d calls, want true after 3", n)
	}
	if For(0, func() bool { return false }) {
		t.Error("For(0, false) = true")
	}
}
