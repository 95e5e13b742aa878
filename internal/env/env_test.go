package env

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParsers(t *testing.T) {
	t.Setenv("T_MS", " 250 ")
	if d, ok, err := Millis("T_MS"); d != 250*time.Millisecond || !ok || err != nil {
		t.Errorf("Millis = %v %v %v", d, ok, err)
	}
	t.Setenv("T_MS", "2s")
	_, ok, err := Millis("T_MS")
	var ee *Error
	if ok || !errors.As(err, &ee) || ee.Name != "T_MS" || ee.Value != "2s" {
		t.Errorf("Millis(2s) = %v %v, want an *Error naming the variable and value", ok, err)
	}
	if _, ok, err := Millis("T_UNSET"); ok || err != nil {
		t.Errorf("unset: %v %v", ok, err)
	}
	t.Setenv("T_N", "0")
	if _, _, err := PositiveInt("T_N"); err == nil {
		t.Error("PositiveInt(0) accepted")
	}
	t.Setenv("T_B", "TRUE")
	if b, ok, err := Bool("T_B"); !b || !ok || err != nil {
		t.Errorf("Bool(TRUE) = %v %v %v", b, ok, err)
	}
	t.Setenv("T_B", "yes")
	if _, _, err := Bool("T_B"); err == nil || !strings.Contains(err.Error(), `T_B="yes"`) {
		t.Errorf("Bool(yes) error = %v", err)
	}
	t.Setenv("T_L", " OTLP, ,console ")
	if got := List("T_L"); !reflect.DeepEqual(got, []string{"otlp", "console"}) {
		t.Errorf("List = %q", got)
	}
}

func FuzzParsers(f *testing.F) {
	for _, s := range []string{"", "0", "-1", "5000", "1e3", "true", "otlp,file", " , "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		v = strings.TrimSpace(v) // as String hands values over
		if d, ok, err := parseMillis("X", v); ok && (err != nil || d < 0) {
			t.Errorf("parseMillis(%q) = %v, %v", v, d, err)
		} else if !ok && err == nil && v != "" {
			t.Errorf("parseMillis(%q): not ok and no error", v)
		}
		if n, ok, err := parsePositiveInt("X", v); ok && (err != nil || n < 1) {
			t.Errorf("parsePositiveInt(%q) = %d, %v", v, n, err)
		}
		for _, item := range splitList(v) {
			if item == "" || strings.Contains(item, ",") || item != strings.TrimSpace(item) {
				t.Errorf("splitList(%q) has item %q", v, item)
			}
		}
	})
}

func TestDurationAndFlag(t *testing.T) {
	tests := []struct {
		v      string
		d      time.Duration
		ok     bool
		hasErr bool
	}{
		{"", 0, false, false},
		{"10ms", 10 * time.Millisecond, true, false},
		{" 1m30s ", 90 * time.Second, true, false},
		{"0", 0, true, false},
		{"-1s", 0, false, true},
		{"10", 0, false, true},
		{"fast", 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.v, func(t *testing.T) {
			t.Setenv("T_D", tt.v)
			d, ok, err := Duration("T_D")
			if d != tt.d || ok != tt.ok || (err != nil) != tt.hasErr {
				t.Errorf("Duration(%q) = %v %v %v", tt.v, d, ok, err)
			}
			var ee *Error
			if tt.hasErr && (!errors.As(err, &ee) || ee.Name != "T_D") {
				t.Errorf("error %v does not name the variable", err)
			}
		})
	}
	for v, want := range map[string]bool{"1": true, "TRUE": true, "0": false, "false": false} {
		t.Setenv("T_F", v)
		if b, ok, err := Flag("T_F"); b != want || !ok || err != nil {
			t.Errorf("Flag(%q) = %v %v %v", v, b, ok, err)
		}
	}
	t.Setenv("T_F", "yes")
	if _, ok, err := Flag("T_F"); ok || err == nil {
		t.Errorf("Flag(yes) = %v %v, want an error", ok, err)
	}
}

func FuzzDuration(f *testing.F) {
	for _, s := range []string{"", "0", "10ms", "1h2m3.5s", "-1s", "1e3", "9999999999h", "1µs"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		v = strings.TrimSpace(v)
		d, ok, err := parseDuration("X", v)
		switch {
		case ok && (err != nil || d < 0):
			t.Errorf("parseDuration(%q) = %v, %v", v, d, err)
		case !ok && err == nil && v != "":
			t.Errorf("parseDuration(%q): not ok and no error", v)
		case ok:
			if back, perr := time.ParseDuration(d.String()); perr != nil || back != d {
				t.Errorf("parseDuration(%q) = %v does not round-trip", v, d)
			}
		}
		if b, ok, err := parseFlag("X", v); !ok && (b || (err == nil && v != "")) {
			t.Errorf("parseFlag(%q) = %v %v %v", v, b, ok, err)
		}
	})
}

func TestFractionAndCount(t *testing.T) {
	fractions := []struct {
		v      string
		f      float64
		ok     bool
		hasErr bool
	}{
		{"", 0, false, false},
		{"0.8", 0.8, true, false},
		{" 1 ", 1, true, false},
		{"0", 0, true, false},
		{"80%", 0, false, true},
		{"1.5", 0, false, true},
		{"-0.1", 0, false, true},
		{"NaN", 0, false, true},
	}
	for _, tt := range fractions {
		t.Run("fraction/"+tt.v, func(t *testing.T) {
			t.Setenv("T_FR", tt.v)
			f, ok, err := Fraction("T_FR")
			if f != tt.f || ok != tt.ok || (err != nil) != tt.hasErr {
				t.Errorf("Fraction(%q) = %v %v %v", tt.v, f, ok, err)
			}
		})
	}
	counts := []struct {
		v      string
		n      int
		ok     bool
		hasErr bool
	}{
		{"", 0, false, false},
		{"0", 0, true, false},
		{"12", 12, true, false},
		{"-1", 0, false, true},
		{"ten", 0, false, true},
	}
	for _, tt := range counts {
		t.Run("count/"+tt.v, func(t *testing.T) {
			t.Setenv("T_C", tt.v)
			n, ok, err := Count("T_C")
			if n != tt.n || ok != tt.ok || (err != nil) != tt.hasErr {
				t.Errorf("Count(%q) = %v %v %v", tt.v, n, ok, err)
			}
		})
	}
}

func FuzzFraction(f *testing.F) {
	for _, s := range []string{"", "0", "0.8", "1", "1.0000001", "-0", "NaN", "Inf", "0x1p-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		v = strings.TrimSpace(v)
		fr, ok, err := parseFraction("X", v)
		switch {
		case ok && (err != nil || !(fr >= 0 && fr <= 1)):
			t.Errorf("parseFraction(%q) = %v, %v", v, fr, err)
		case !ok && err == nil && v != "":
			t.Errorf("parseFraction(%q): not ok and no error", v)
		}
		if n, ok, err := parseCount("X", v); ok && (err != nil || n < 0) {
			t.Errorf("parseCount(%q) = %d, %v", v, n, err)
		}
	})
}
