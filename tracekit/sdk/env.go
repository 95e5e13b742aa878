package sdk

import (
	"strconv"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracekit-go/tracekit/internal/batch"
	"github.com/tracekit-go/tracekit/internal/env"
)

// optionsFromEnv turns the environment into the options it stands for,
// which newConfig applies before the caller's. A value that is not
// understood is left out and returned as an error.
func optionsFromEnv() (opts []Option, errs []error) {
	report := func(err error) { errs = append(errs, err) }
	add := func(o Option) { opts = append(opts, o) }

	if disabled, _, err := env.Bool(env.SDKDisabled); err != nil {
		report(err)
	} else if disabled {
		add(optionFunc(func(c *config) { c.disabled = true }))
	}
	if kinds := exportersFromEnv(env.TracesExporter, report, true); kinds != nil {
		add(optionFunc(func(c *config) { c.traces, c.tracesFromEnv = kinds, true }))
	}
	if kinds := exportersFromEnv(env.MetricsExporter, report, false); kinds != nil {
		add(WithMetricsExporter(kinds...))
	}
	if kinds := exportersFromEnv(env.LogsExporter, report, false); kinds != nil {
		add(WithLogsExporter(kinds...))
	}
	if path, ok := env.String(env.FilePath); ok {
		add(optionFunc(func(c *config) { c.filePath, c.filePathFromEnv = path, true }))
	}
	if s, ok := samplerFromEnv(report); ok {
		add(WithSampler(s))
	}
	bc := batchConfig(report, env.BSPScheduleDelay, env.BSPExportTimeout, env.BSPMaxQueueSize, env.BSPMaxExportBatchSize)
	lc := batchConfig(report, env.BLRPScheduleDelay, env.BLRPExportTimeout, env.BLRPMaxQueueSize, env.BLRPMaxExportBatchSize)
	add(optionFunc(func(c *config) { c.batch, c.logBatch = bc, lc }))

	// Thresholds: a Go duration, or off.
	duration := func(name string, set func(time.Duration) Option, off Option) {
		if off != nil && env.Off(name) {
			add(off)
			return
		}
		if d, ok, err := env.Duration(name); err != nil {
			report(err)
		} else if ok {
			add(set(d))
		}
	}
	count := func(name string, set func(int) Option, off Option) {
		if off != nil && env.Off(name) {
			add(off)
			return
		}
		if n, ok, err := env.Count(name); err != nil {
			report(err)
		} else if ok {
			add(set(n))
		}
	}
	if on, ok, err := env.Flag(env.Deadlock); err != nil {
		report(err)
	} else if ok && on {
		add(WithDeadlockDetection())
	} else if ok {
		add(WithoutDeadlockDetection())
	}
	duration(env.Slow, WithSlowThreshold, WithoutSlowSpans())
	duration(env.HangTimeout, WithHangTimeout, WithoutHangReports())
	duration(env.LongHold, WithLongHold, WithoutLongHoldReports())
	duration(env.LintInterval, WithLintInterval, WithoutLints())
	duration(env.LintOrphanGrace, WithOrphanGrace, WithoutOrphanLint())
	count(env.LintGrowthSamples, WithSpawnGrowthSamples, WithoutSpawnGrowthLint())
	duration(env.LintGrowthInterval, WithSpawnGrowthInterval, nil)
	count(env.LintGrowthMinRise, WithSpawnGrowthMinRise, nil)

	if on, ok, err := env.Flag(env.MemoryWatch); err != nil {
		report(err)
	} else if ok && on {
		add(WithMemoryWatch())
	} else if ok {
		add(WithoutMemoryWatch())
	}
	if f, ok, err := env.Fraction(env.MemoryFraction); err != nil {
		report(err)
	} else if ok {
		add(WithMemoryFraction(f))
	}
	duration(env.MemoryInterval, WithMemoryInterval, nil)
	duration(env.ErrorInterval, WithErrorInterval, nil)
	count(env.MemoryGrowthSamples, WithMemoryGrowthSamples, nil)

	// The flight recorder: a directory or a slow-span threshold turns it
	// on; the rest only tune it.
	flightOpt := func(f func(*flightConfig)) Option { return optionFunc(func(c *config) { f(&c.flight) }) }
	if dir, ok := env.String(env.FlightDir); ok {
		add(flightOpt(func(f *flightConfig) { f.on, f.dir = true, dir }))
	}
	if env.Off(env.FlightSlowSpan) {
		add(flightOpt(func(f *flightConfig) { f.slowSpan = 0 }))
	} else if d, ok, err := env.Duration(env.FlightSlowSpan); err != nil {
		report(err)
	} else if ok && d > 0 {
		add(flightOpt(func(f *flightConfig) { f.on, f.slowSpan = true, d }))
	}
	if d, ok, err := env.Duration(env.FlightWindow); err != nil {
		report(err)
	} else if ok {
		add(flightOpt(func(f *flightConfig) { f.window = d }))
	}
	if n, ok, err := env.PositiveInt(env.FlightMaxFiles); err != nil {
		report(err)
	} else if ok {
		add(flightOpt(func(f *flightConfig) { f.maxFiles = n }))
	}
	if n, ok, err := env.PositiveInt(env.FlightMaxBytes); err != nil {
		report(err)
	} else if ok {
		add(flightOpt(func(f *flightConfig) { f.maxBytes = int64(n) }))
	}

	// Profiling: naming a destination turns it on.
	var dests []ProfilingOption
	if _, ok := env.String(env.PyroscopeServerAddress); ok {
		dests = append(dests, ProfileToPyroscope())
	}
	if dir, ok := env.String(env.ProfileDir); ok {
		dests = append(dests, ProfileToDir(dir))
	}
	if dests != nil {
		add(WithProfiling(dests...))
	}
	return opts, errs
}

// exportersFromEnv reads an OTEL_*_EXPORTER list. Unknown names are reported
// and skipped; an unset or entirely unknown list gives nil, meaning "the
// default". fileOK says whether the file exporter exists for the signal.
func exportersFromEnv(name string, report func(error), fileOK bool) []Exporter {
	var out []Exporter
	for _, it := range env.List(name) {
		switch e := Exporter(it); e {
		case ExporterOTLP, ExporterConsole, ExporterNone:
			out = append(out, e)
		case ExporterFile:
			if fileOK {
				out = append(out, e)
				continue
			}
			fallthrough
		default:
			want := "otlp, console or none"
			if fileOK {
				want = "otlp, console, file or none"
			}
			report(&env.Error{Name: name, Value: it, Reason: "unknown exporter, want " + want})
		}
	}
	return out
}

// batchConfig reads the OTEL_BSP_* or OTEL_BLRP_* variables.
func batchConfig(report func(error), delay, timeout, queue, size string) batch.Config {
	var c batch.Config
	millis := func(name string, dst *time.Duration) {
		if d, ok, err := env.Millis(name); ok {
			*dst = d
		} else if err != nil {
			report(err)
		}
	}
	count := func(name string, dst *int) {
		if n, ok, err := env.PositiveInt(name); ok {
			*dst = n
		} else if err != nil {
			report(err)
		}
	}
	millis(delay, &c.ScheduleDelay)
	millis(timeout, &c.ExportTimeout)
	count(queue, &c.MaxQueueSize)
	count(size, &c.MaxExportBatchSize)
	return c
}

// samplerFromEnv reads OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG; ok
// is false when they are unset or not understood (which is reported).
func samplerFromEnv(report func(error)) (sdktrace.Sampler, bool) {
	name, ok := env.String(env.TracesSampler)
	if !ok {
		return nil, false
	}
	ratio := func() (float64, bool) {
		arg, ok := env.String(env.TracesSamplerArg)
		if !ok {
			return 1, true
		}
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 {
			report(&env.Error{Name: env.TracesSamplerArg, Value: arg, Reason: "want a ratio from 0 to 1"})
			return 0, false
		}
		return r, true
	}
	switch name {
	case "always_on":
		return sdktrace.AlwaysSample(), true
	case "always_off":
		return sdktrace.NeverSample(), true
	case "traceidratio":
		if r, ok := ratio(); ok {
			return sdktrace.TraceIDRatioBased(r), true
		}
		return nil, false
	case "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), true
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), true
	case "parentbased_traceidratio":
		if r, ok := ratio(); ok {
			return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(r)), true
		}
		return nil, false
	}
	report(&env.Error{Name: env.TracesSampler, Value: name, Reason: "want always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio"})
	return nil, false
}
