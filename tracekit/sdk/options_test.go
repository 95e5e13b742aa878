package sdk

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/internal/env"
	"github.com/tracekit-go/tracekit/internal/flight"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// resolve runs newConfig with the error handler collecting what it reports.
func resolve(opts ...Option) (config, []error) {
	var errs []error
	c := newConfig(append(opts, WithErrorHandler(func(err error) { errs = append(errs, err) })))
	return c, errs
}

var defaultLints = detect.LintConfig{Interval: DefaultLintInterval, Orphan: DefaultOrphanGrace, OrphanOn: true,
	GrowthSamples: DefaultSpawnGrowthSamples, GrowthEvery: DefaultSpawnGrowthInterval, GrowthMinRise: DefaultSpawnGrowthMinRise}

// flightDefaults is the flight recorder's configuration with dir and the
// defaults.
func flightDefaults(dir string) flight.Config {
	return flight.Config{Dir: dir, Window: DefaultFlightWindow, MaxFiles: DefaultFlightMaxFiles, MaxBytes: DefaultFlightMaxBytes}
}

var defaultMemory = detect.MemConfig{Interval: DefaultMemoryInterval, Fraction: DefaultMemoryFraction,
	GrowthSamples: DefaultMemoryGrowthSamples, GrowthMin: DefaultMemoryGrowthMin}

// The configuration resolves in one place: the environment, then the
// options, then the defaults; zero means the default, and off is said.
func TestNewConfig(t *testing.T) {
	onReport := func(inspect.Report) {}
	tests := []struct {
		name   string
		env    map[string]string
		opts   []Option
		det    detect.Config
		lints  detect.LintConfig
		mem    detect.MemConfig
		memOff bool
		errs   []string // the variables the errors name
	}{
		{name: "defaults",
			det:   detect.Config{Slow: DefaultSlowThreshold, Hang: DefaultHangTimeout, LongHold: DefaultLongHold},
			lints: defaultLints, mem: defaultMemory},
		{name: "environment",
			env: map[string]string{env.Slow: "5ms", env.HangTimeout: "2s", env.LongHold: "off", env.Deadlock: "1",
				env.LintInterval: "2s", env.LintOrphanGrace: "off", env.LintGrowthSamples: "20", env.LintGrowthInterval: "10s",
				env.LintGrowthMinRise: "100", env.MemoryFraction: "0.9", env.MemoryInterval: "1m", env.MemoryGrowthSamples: "4"},
			det: detect.Config{Slow: 5 * time.Millisecond, Hang: 2 * time.Second, Order: true},
			lints: detect.LintConfig{Interval: 2 * time.Second, Orphan: DefaultOrphanGrace, GrowthSamples: 20,
				GrowthEvery: 10 * time.Second, GrowthMinRise: 100},
			mem: detect.MemConfig{Interval: time.Minute, Fraction: 0.9, GrowthSamples: 4, GrowthMin: DefaultMemoryGrowthMin}},
		{name: "options win over the environment",
			env: map[string]string{env.HangTimeout: "off", env.Deadlock: "true", env.LintOrphanGrace: "off", env.MemoryWatch: "off",
				env.LintGrowthSamples: "off"},
			opts: []Option{WithHangTimeout(time.Minute), WithoutDeadlockDetection(), WithOrphanGrace(time.Second), WithMemoryWatch(),
				WithSpawnGrowthSamples(2), WithSpawnGrowthInterval(time.Millisecond), WithLintInterval(time.Second),
				WithReportHandler(onReport), WithFlightRecorder("dir"), WithMemoryGrowthMin(1 << 20)},
			det: detect.Config{Slow: DefaultSlowThreshold, Hang: time.Minute, LongHold: DefaultLongHold, Flight: flightDefaults("dir")},
			lints: detect.LintConfig{Interval: time.Second, Orphan: time.Second, OrphanOn: true, GrowthSamples: 3,
				GrowthEvery: time.Second, GrowthMinRise: DefaultSpawnGrowthMinRise},
			mem: detect.MemConfig{Interval: DefaultMemoryInterval, Fraction: DefaultMemoryFraction,
				GrowthSamples: DefaultMemoryGrowthSamples, GrowthMin: 1 << 20}},
		{name: "zero and negative mean the default",
			opts: []Option{WithSlowThreshold(0), WithHangTimeout(-time.Second), WithLintInterval(0), WithMemoryFraction(0),
				WithMemoryInterval(-1), WithSpawnGrowthSamples(0)},
			det:   detect.Config{Slow: DefaultSlowThreshold, Hang: DefaultHangTimeout, LongHold: DefaultLongHold},
			lints: defaultLints, mem: defaultMemory},
		{name: "off is said",
			opts: []Option{WithoutSlowSpans(), WithoutHangReports(), WithoutLongHoldReports(), WithoutLints(), WithoutMemoryWatch()},
			det:  detect.Config{}, memOff: true},
		{name: "the last word wins",
			opts:  []Option{WithoutHangReports(), WithHangTimeout(time.Second), WithDeadlockDetection(), WithoutSpawnGrowthLint()},
			det:   detect.Config{Slow: DefaultSlowThreshold, Hang: time.Second, LongHold: DefaultLongHold, Order: true},
			lints: detect.LintConfig{Interval: DefaultLintInterval, Orphan: DefaultOrphanGrace, OrphanOn: true, GrowthEvery: DefaultSpawnGrowthInterval, GrowthMinRise: DefaultSpawnGrowthMinRise},
			mem:   defaultMemory},
		{name: "flight recorder from the environment",
			env: map[string]string{env.FlightDir: "/var/flight", env.FlightSlowSpan: "250ms", env.FlightWindow: "5s",
				env.FlightMaxFiles: "3", env.FlightMaxBytes: "1000000"},
			det: detect.Config{Slow: DefaultSlowThreshold, Hang: DefaultHangTimeout, LongHold: DefaultLongHold,
				Flight: flight.Config{Dir: "/var/flight", Window: 5 * time.Second, MaxFiles: 3, MaxBytes: 1e6}, SlowSpan: 250 * time.Millisecond},
			lints: defaultLints, mem: defaultMemory},
		{name: "a slow-span threshold alone turns the flight recorder on beside the trace file",
			env:  map[string]string{env.FlightSlowSpan: "1s", env.FilePath: "/srv/out/spans.jsonl"},
			opts: []Option{WithTracesExporter(ExporterNone)},
			det: detect.Config{Slow: DefaultSlowThreshold, Hang: DefaultHangTimeout, LongHold: DefaultLongHold,
				Flight: flightDefaults("/srv/out/" + DefaultFlightDir), SlowSpan: time.Second},
			lints: defaultLints, mem: defaultMemory},
		{name: "flight options win over the environment, zero means the default",
			env:  map[string]string{env.FlightDir: "/var/flight", env.FlightSlowSpan: "250ms", env.FlightWindow: "5s", env.FlightMaxFiles: "3"},
			opts: []Option{WithFlightRecorder("/tmp/f", FlightSlowSpan(2*time.Second), FlightWindow(0), FlightMaxBytes(1<<20))},
			det: detect.Config{Slow: DefaultSlowThreshold, Hang: DefaultHangTimeout, LongHold: DefaultLongHold,
				Flight: flight.Config{Dir: "/tmp/f", Window: DefaultFlightWindow, MaxFiles: 3, MaxBytes: 1 << 20}, SlowSpan: 2 * time.Second},
			lints: defaultLints, mem: defaultMemory},
		{name: "flight recorder off is said",
			env:   map[string]string{env.FlightDir: "/var/flight", env.FlightSlowSpan: "250ms"},
			opts:  []Option{WithoutFlightRecorder()},
			det:   detect.Config{Slow: DefaultSlowThreshold, Hang: DefaultHangTimeout, LongHold: DefaultLongHold},
			lints: defaultLints, mem: defaultMemory},
		{name: "a slow-span threshold off leaves the flight recorder for reports",
			env:   map[string]string{env.FlightDir: "/var/flight", env.FlightSlowSpan: "off"},
			det:   detect.Config{Slow: DefaultSlowThreshold, Hang: DefaultHangTimeout, LongHold: DefaultLongHold, Flight: flightDefaults("/var/flight")},
			lints: defaultLints, mem: defaultMemory},
		{name: "bad values are reported and ignored",
			env: map[string]string{env.HangTimeout: "soon", env.Deadlock: "maybe", env.LintGrowthSamples: "-2",
				env.MemoryFraction: "80%", env.MemoryWatch: "perhaps", env.FlightSlowSpan: "slow", env.FlightMaxFiles: "0"},
			opts:  []Option{WithMemoryFraction(1.5)},
			det:   detect.Config{Slow: DefaultSlowThreshold, Hang: DefaultHangTimeout, LongHold: DefaultLongHold},
			lints: defaultLints, mem: defaultMemory,
			errs: []string{env.Deadlock, env.HangTimeout, env.LintGrowthSamples, env.MemoryWatch, env.MemoryFraction,
				env.FlightSlowSpan, env.FlightMaxFiles, "WithMemoryFraction(1.5)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, errs := resolve(tt.opts...)
			det := c.detectorConfig()
			if (det.OnReport != nil) != (tt.name == "options win over the environment") {
				t.Errorf("report handler set: %v", det.OnReport != nil)
			}
			if det.Slow != tt.det.Slow || det.Hang != tt.det.Hang || det.LongHold != tt.det.LongHold ||
				det.Order != tt.det.Order || det.SlowSpan != tt.det.SlowSpan || (det.Flight.OnError == nil) != (det.Flight.Dir == "") {
				t.Errorf("detector %+v\nwant     %+v", det, tt.det)
			}
			if f, w := det.Flight, tt.det.Flight; f.Dir != w.Dir || f.Window != w.Window || f.Interval != w.Interval ||
				f.MaxFiles != w.MaxFiles || f.MaxBytes != w.MaxBytes {
				t.Errorf("flight recorder %+v\nwant            %+v", f, w)
			}
			if got := c.lintConfig(); got != tt.lints {
				t.Errorf("lints %+v\nwant  %+v", got, tt.lints)
			}
			mem, on := c.memConfig()
			if on == tt.memOff || (on && mem != tt.mem) {
				t.Errorf("memory %+v on=%v, want %+v off=%v", mem, on, tt.mem, tt.memOff)
			}
			if len(errs) != len(tt.errs) {
				t.Fatalf("errors %v, want %d naming %v", errs, len(tt.errs), tt.errs)
			}
			for i, err := range errs {
				if !strings.Contains(err.Error(), tt.errs[i]) {
					t.Errorf("error %d %q does not name %s", i, err, tt.errs[i])
				}
				if e := (*env.Error)(nil); strings.HasPrefix(tt.errs[i], "TRACEKIT_") && !errors.As(err, &e) {
					t.Errorf("error %v is not an *env.Error", err)
				}
			}
		})
	}
}
