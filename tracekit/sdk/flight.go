package sdk

import (
	"path/filepath"
	"time"

	"github.com/tracekit-go/tracekit/internal/flight"
)

// Defaults of the flight recorder.
const (
	// DefaultFlightDir is where snapshots go when the flight recorder is
	// on with no directory named: a directory of this name beside the
	// trace file ([WithFilePath], TRACEKIT_FILE_PATH, [DefaultFilePath]).
	DefaultFlightDir      = "tracekit-flight"
	DefaultFlightWindow   = flight.DefaultWindow
	DefaultFlightMaxFiles = flight.DefaultMaxFiles
	DefaultFlightMaxBytes = flight.DefaultMaxBytes
)

// flightConfig is what WithFlightRecorder, its options and the
// TRACEKIT_FLIGHT_* variables set.
type flightConfig struct {
	on       bool
	dir      string
	slowSpan time.Duration
	window   time.Duration
	maxFiles int
	maxBytes int64
}

// FlightOption configures [WithFlightRecorder].
type FlightOption interface{ applyFlight(*flightConfig) }

type flightOptionFunc func(*flightConfig)

func (f flightOptionFunc) applyFlight(c *flightConfig) { f(c) }

// WithFlightRecorder keeps the last seconds of the Go execution trace in
// memory (runtime/trace's flight recorder) and writes them to a new file
// in dir for every detector report, named in its TraceFile, and, with
// [FlightSlowSpan], for every span of tracekit's that ends slower than a
// threshold, named in its tracekit.flight.file attribute. Snapshots are
// rate-limited, one per window at most (requests in between share the
// next, which still holds them), and bounded on disk ([FlightMaxFiles],
// [FlightMaxBytes]). dir "" is [DefaultFlightDir]; the option overrides
// TRACEKIT_FLIGHT_DIR. Only one flight recorder can run in a process.
// Default off.
func WithFlightRecorder(dir string, opts ...FlightOption) Option {
	return optionFunc(func(c *config) {
		c.flight.on, c.flight.dir = true, dir
		for _, o := range opts {
			o.applyFlight(&c.flight)
		}
	})
}

// WithoutFlightRecorder turns the flight recorder off, whatever the
// environment says.
func WithoutFlightRecorder() Option {
	return optionFunc(func(c *config) { c.flight = flightConfig{} })
}

// FlightSlowSpan makes every span of tracekit's (a task, a group, a
// function span, a lock or channel span) that ends slower than d ask for a
// snapshot and carry its file name in tracekit.flight.file, overriding
// TRACEKIT_FLIGHT_SLOW_SPAN. Default (and d <= 0): spans ask for none.
func FlightSlowSpan(d time.Duration) FlightOption {
	return flightOptionFunc(func(c *flightConfig) { c.slowSpan = d })
}

// FlightWindow sets how far back a snapshot reaches, which is also the
// least time between two snapshots, overriding TRACEKIT_FLIGHT_WINDOW.
// Default [DefaultFlightWindow].
func FlightWindow(d time.Duration) FlightOption {
	return flightOptionFunc(func(c *flightConfig) { c.window = d })
}

// FlightMaxFiles sets how many snapshots the recorder keeps in its
// directory before it removes the oldest, overriding
// TRACEKIT_FLIGHT_MAX_FILES. Default [DefaultFlightMaxFiles].
func FlightMaxFiles(n int) FlightOption {
	return flightOptionFunc(func(c *flightConfig) { c.maxFiles = n })
}

// FlightMaxBytes sets how many bytes of snapshots the recorder keeps in its
// directory before it removes the oldest (the newest is always kept),
// overriding TRACEKIT_FLIGHT_MAX_BYTES. Default [DefaultFlightMaxBytes].
func FlightMaxBytes(n int64) FlightOption {
	return flightOptionFunc(func(c *flightConfig) { c.maxBytes = n })
}

// flightRecorder returns the detector's flight recorder configuration and
// slow-span threshold; the directory is "" when the recorder is off.
func (c *config) flightRecorder() (flight.Config, time.Duration) {
	f := c.flight
	if !f.on {
		return flight.Config{}, 0
	}
	dir := f.dir
	if dir == "" {
		dir = filepath.Join(filepath.Dir(tracePath(c)), DefaultFlightDir)
	}
	return flight.Config{Dir: dir, Window: f.window, MaxFiles: f.maxFiles, MaxBytes: f.maxBytes, OnError: c.onError},
		max(f.slowSpan, 0)
}
