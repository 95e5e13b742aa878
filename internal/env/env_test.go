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
