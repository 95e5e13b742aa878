package tracekit

import (
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/tracekit-go/tracekit/internal/env"
)

// WithReportHandler receives every detector [Report] (lock-order
// inversions, recursive locks, hangs, long holds), on the goroutine that
// found it; f must be safe for concurrent use and should not block. The
// reports are also span events and slog WARN records. Default: none.
//
// The detectors, and this and the options below, belong to the Kit that
// installs the globals: a Kit started [WithoutGlobals] leaves tracekit's
// locks and channel helpers alone.
func WithReportHandler(f func(Report)) Option {
	return optionFunc(func(c *config) { c.onReport = f })
}

// WithDeadlockDetection turns lock-order detection on or off, overriding
// TRACEKIT_DEADLOCK. While on, every acquisition of a [Mutex] or [RWMutex]
// records its stack (about 0.1–0.2 µs) and its place in the lock-order
// graph, and an inversion (A then B on one path, B then A on another) is
// reported as a [ReportLockOrder] the first time it is seen, even if the
// program never deadlocks. Default off; off costs nothing.
func WithDeadlockDetection(on bool) Option {
	return optionFunc(func(c *config) { c.deadlock = &on })
}

// WithSlowThreshold sets the wait or hold time past which a lock or channel
// operation is recorded as a span, overriding TRACEKIT_SLOW. Default
// [DefaultSlowThreshold] (10ms); 0 records no such spans.
func WithSlowThreshold(d time.Duration) Option {
	return optionFunc(func(c *config) { c.slow = &d })
}

// WithHangTimeout sets the wait past which a lock or channel wait is
// reported as a [ReportLockTimeout], overriding TRACEKIT_HANG_TIMEOUT.
// Default [DefaultHangTimeout] (30s); 0 turns hang reports off.
//
// A report on a lock names its holder: the tracked task ([Go],
// [Group.Go]) whose goroutine holds it for writing, with the stack that
// goroutine has now (Report.Tasks), or else the holder's goroutine by ID,
// saying whether it is still running (its stack is in Report.Goroutines)
// or exited without unlocking. Each lock records its write holder's
// goroutine ID while a Kit runs (about 0.6 ns per Lock); with lock-order
// detection on, readers are named too.
func WithHangTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.hangTimeout = &d })
}

// WithLongHold sets the hold time past which releasing a lock makes a
// [ReportLongHold], overriding TRACEKIT_LONG_HOLD. Default
// [DefaultLongHold] (1s); 0 turns long-hold reports off. Holds are timed
// with a coarse clock, to within a fifth of the slow threshold.
func WithLongHold(d time.Duration) Option {
	return optionFunc(func(c *config) { c.longHold = &d })
}

// WithFlightRecorder keeps the last seconds of runtime/trace execution trace
// in memory (the Go flight recorder) and writes them to a new file in dir
// for every [ReportLockTimeout], named in [Report.TraceFile]; read it with
// `go tool trace`. Only one flight recorder can run in a process. Default
// off.
func WithFlightRecorder(dir string) Option {
	return optionFunc(func(c *config) { c.flightDir = dir })
}

// startDetectors makes the Kit's lock and channel detector from the options
// and the TRACEKIT_* environment, and makes it the detector tracekit's locks
// and channel helpers report to, as the Kit's providers become the
// OpenTelemetry globals. A Kit started WithoutGlobals leaves the locks alone
// and makes no detector (its clock goroutine would serve nobody).
func (k *Kit) startDetectors(cfg *config) {
	if cfg.noGlobals {
		return
	}
	k.det = newDetector(detectorFromConfig(cfg, k.mp.Meter(ScopeName)))
	activeDetector.Store(k.det)
	k.startLints(cfg)
	k.mem.start(k.det)
}

// detectorFromConfig applies the defaults, the environment and the options.
func detectorFromConfig(cfg *config, meter metric.Meter) detectorConfig {
	dc := detectorConfig{
		slow:      DefaultSlowThreshold,
		hang:      DefaultHangTimeout,
		longHold:  DefaultLongHold,
		onReport:  cfg.onReport,
		flightDir: cfg.flightDir,
		meter:     meter,
		onError:   cfg.onError,
	}
	dur := func(name string, opt *time.Duration, dst *time.Duration) {
		if opt != nil {
			*dst = *opt
			return
		}
		if v, ok, err := env.Duration(name); err != nil {
			cfg.onError(err)
		} else if ok {
			*dst = v
		}
	}
	dur(env.Slow, cfg.slow, &dc.slow)
	dur(env.HangTimeout, cfg.hangTimeout, &dc.hang)
	dur(env.LongHold, cfg.longHold, &dc.longHold)
	if cfg.deadlock != nil {
		dc.order = *cfg.deadlock
	} else if on, ok, err := env.Flag(env.Deadlock); err != nil {
		cfg.onError(err)
	} else if ok {
		dc.order = on
	}
	return dc
}

// stopDetectors detaches and stops the Kit's detector. Safe to call twice.
func (k *Kit) stopDetectors() {
	k.stopLints()
	k.mem.stop()
	if k.det == nil {
		return
	}
	activeDetector.CompareAndSwap(k.det, nil)
	k.det.close()
}
