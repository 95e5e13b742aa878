// Package testwait bounds how long the tests of both modules wait for an
// event before they fail. The tests wait for the event itself; a deadline
// only ends a wait that would otherwise never end, and every deadline is
// multiplied by TRACEKIT_TEST_TIMEOUT_SCALE (a positive number, default 1)
// for machines slower or busier than the defaults allow for.
package testwait

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// EnvScale names the variable that scales every test deadline.
const EnvScale = "TRACEKIT_TEST_TIMEOUT_SCALE"

var factor = sync.OnceValue(func() float64 {
	f, err := parseScale(os.Getenv(EnvScale))
	if err != nil {
		fmt.Fprintf(os.Stderr, "testwait: ignoring %s: %v\n", EnvScale, err)
	}
	return f
})

// parseScale reads a scale factor: 1 for "", else a positive number; on an
// error it also returns 1.
func parseScale(v string) (float64, error) {
	if v == "" {
		return 1, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f > 0) || f > 1e6 {
		return 1, fmt.Errorf("%q is not a positive number", v)
	}
	return f, nil
}

// Scale returns d multiplied by TRACEKIT_TEST_TIMEOUT_SCALE.
func Scale(d time.Duration) time.Duration {
	return time.Duration(float64(d) * factor())
}

// For polls cond, at first every millisecond and then less often, until it
// returns true or the scaled deadline d has passed, and reports whether it
// returned true. cond runs at least once.
func For(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(Scale(d))
	for pause := time.Millisecond; ; pause = min(2*pause, 50*time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return cond()
		}
		time.Sleep(pause)
	}
}
