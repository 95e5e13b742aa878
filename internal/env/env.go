// Package env names every environment variable tracekit reads and parses
// their values. Keeping the names in one place lets the documentation, the
// tests and the code agree.
package env

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// Standard OpenTelemetry variables.
const (
	SDKDisabled        = "OTEL_SDK_DISABLED"
	ServiceName        = "OTEL_SERVICE_NAME"
	ResourceAttributes = "OTEL_RESOURCE_ATTRIBUTES"
	TracesExporter     = "OTEL_TRACES_EXPORTER"
	MetricsExporter    = "OTEL_METRICS_EXPORTER"
	TracesSampler      = "OTEL_TRACES_SAMPLER"
	TracesSamplerArg   = "OTEL_TRACES_SAMPLER_ARG"

	OTLPEndpoint        = "OTEL_EXPORTER_OTLP_ENDPOINT"
	OTLPTracesEndpoint  = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	OTLPMetricsEndpoint = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"
	OTLPProtocol        = "OTEL_EXPORTER_OTLP_PROTOCOL"
	OTLPTracesProtocol  = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	OTLPMetricsProtocol = "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"

	BSPScheduleDelay      = "OTEL_BSP_SCHEDULE_DELAY"
	BSPExportTimeout      = "OTEL_BSP_EXPORT_TIMEOUT"
	BSPMaxQueueSize       = "OTEL_BSP_MAX_QUEUE_SIZE"
	BSPMaxExportBatchSize = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"

	BLRPScheduleDelay      = "OTEL_BLRP_SCHEDULE_DELAY"
	BLRPExportTimeout      = "OTEL_BLRP_EXPORT_TIMEOUT"
	BLRPMaxQueueSize       = "OTEL_BLRP_MAX_QUEUE_SIZE"
	BLRPMaxExportBatchSize = "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE"

	// Logs: the exporter list (otlp, console, none; tracekit's default is
	// none) and where OTLP logs go when not where the traces go.
	LogsExporter     = "OTEL_LOGS_EXPORTER"
	OTLPLogsEndpoint = "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"
	OTLPLogsProtocol = "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL"
)

// tracekit's own variables.
const (
	// FilePath is where the file exporter writes (default tracekit-traces.jsonl).
	FilePath = "TRACEKIT_FILE_PATH"
	// ProfileDir turns on local profile capture into that directory.
	ProfileDir = "TRACEKIT_PROFILE_DIR"
	// ErrorInterval is how often, at most, the error handler hears of
	// failures of one kind that go on, as a Go duration (default 10s).
	ErrorInterval = "TRACEKIT_ERROR_INTERVAL"

	// Deadlock turns lock-order deadlock detection on ("1", "true", "on")
	// or off ("0", "false", "off", the default).
	Deadlock = "TRACEKIT_DEADLOCK"
	// Slow is the wait or hold time past which a lock or channel operation
	// gets a span, as a Go duration (default 10ms; off: no such spans).
	Slow = "TRACEKIT_SLOW"
	// HangTimeout is the wait past which a lock or channel wait is reported
	// as a hang, as a Go duration (default 30s; off turns it off).
	HangTimeout = "TRACEKIT_HANG_TIMEOUT"
	// LongHold is the hold time past which a lock hold is reported, as a Go
	// duration (default 1s; off turns it off).
	LongHold = "TRACEKIT_LONG_HOLD"
	// FlightDir turns the flight recorder on, writing its snapshots of the
	// execution trace into that directory.
	FlightDir = "TRACEKIT_FLIGHT_DIR"
	// FlightSlowSpan is the duration past which a span of tracekit's asks
	// the flight recorder for a snapshot, as a Go duration (default: none;
	// off: none). Set alone, it turns the flight recorder on in its
	// default directory.
	FlightSlowSpan = "TRACEKIT_FLIGHT_SLOW_SPAN"
	// FlightWindow is how far back a snapshot reaches, and the least time
	// between two snapshots, as a Go duration (default 10s).
	FlightWindow = "TRACEKIT_FLIGHT_WINDOW"
	// FlightMaxFiles and FlightMaxBytes bound the snapshots kept on disk
	// (default 8 files, 268435456 bytes); the oldest are removed.
	FlightMaxFiles = "TRACEKIT_FLIGHT_MAX_FILES"
	FlightMaxBytes = "TRACEKIT_FLIGHT_MAX_BYTES"
	// TraceURL is the console's link to a trace viewer: an http or https
	// URL in which {trace_id} (and optionally {span_id}) is replaced, e.g.
	// http://localhost:16686/trace/{trace_id} for Jaeger.
	TraceURL = "TRACEKIT_TRACE_URL"
	// ConsoleHosts lists, comma-separated, the host names the console
	// answers for besides IP literals and localhost ("*": any).
	ConsoleHosts = "TRACEKIT_CONSOLE_HOSTS"

	// MemoryWatch turns the memory watch on (the default) or off ("0",
	// "false", "off").
	MemoryWatch = "TRACEKIT_MEMORY_WATCH"
	// MemoryFraction is the share of the memory limit past which memory use
	// is reported, above 0 and at most 1 (default 0.8).
	MemoryFraction = "TRACEKIT_MEMORY_FRACTION"
	// MemoryInterval is how often the memory watch samples, as a Go
	// duration (default 10s).
	MemoryInterval = "TRACEKIT_MEMORY_INTERVAL"
	// MemoryGrowthSamples is how many consecutive samples the live heap
	// must rise in before growth is reported (default 10).
	MemoryGrowthSamples = "TRACEKIT_MEMORY_GROWTH_SAMPLES"

	// LintInterval is how often the task lints sweep the registry, as a Go
	// duration (default 1s; off turns the lints off).
	LintInterval = "TRACEKIT_LINT_INTERVAL"
	// LintOrphanGrace is how long a task may outlive the task that started
	// it before it is reported, as a Go duration (default 30s; off turns
	// the orphan lint off).
	LintOrphanGrace = "TRACEKIT_LINT_ORPHAN_GRACE"
	// LintGrowthSamples is how many samples of each spawn site's live task
	// count the growth lint looks at (default 12, at least 3; off turns the
	// growth lint off).
	LintGrowthSamples = "TRACEKIT_LINT_GROWTH_SAMPLES"
	// LintGrowthInterval is how often the growth lint samples, as a Go
	// duration (default 5s).
	LintGrowthInterval = "TRACEKIT_LINT_GROWTH_INTERVAL"
	// LintGrowthMinRise is the least net rise in live tasks across the
	// samples that counts as growth (default 10).
	LintGrowthMinRise = "TRACEKIT_LINT_GROWTH_MIN_RISE"
)

// Pyroscope client variables, as Grafana's documentation spells them.
const (
	PyroscopeServerAddress     = "PYROSCOPE_SERVER_ADDRESS"
	PyroscopeApplicationName   = "PYROSCOPE_APPLICATION_NAME"
	PyroscopeBasicAuthUser     = "PYROSCOPE_BASIC_AUTH_USER"
	PyroscopeBasicAuthPassword = "PYROSCOPE_BASIC_AUTH_PASSWORD"
	PyroscopeTenantID          = "PYROSCOPE_TENANT_ID"
)

// Error reports an environment variable whose value was not understood. The
// value is ignored and the default applies.
type Error struct {
	Name   string // the variable
	Value  string // what it held
	Reason string // what was expected
}

func (e *Error) Error() string {
	return fmt.Sprintf("tracekit: ignoring %s=%q: %s", e.Name, e.Value, e.Reason)
}

// String returns the trimmed value of name and whether it is set and non-empty.
func String(name string) (string, bool) {
	v := strings.TrimSpace(os.Getenv(name))
	return v, v != ""
}

// Millis reads a duration given in milliseconds, as the OTEL_BSP_* variables
// are. A missing variable returns ok=false and no error.
func Millis(name string) (d time.Duration, ok bool, err error) {
	v, _ := String(name)
	return parseMillis(name, v)
}

func parseMillis(name, v string) (d time.Duration, ok bool, err error) {
	if v == "" {
		return 0, false, nil
	}
	n, perr := strconv.ParseInt(v, 10, 64)
	if perr != nil || n < 0 || n > math.MaxInt64/int64(time.Millisecond) {
		return 0, false, &Error{Name: name, Value: v, Reason: "want a whole number of milliseconds (at most 292 years)"}
	}
	return time.Duration(n) * time.Millisecond, true, nil
}

// PositiveInt reads a count that must be at least 1.
func PositiveInt(name string) (n int, ok bool, err error) {
	v, _ := String(name)
	return parsePositiveInt(name, v)
}

func parsePositiveInt(name, v string) (n int, ok bool, err error) {
	if v == "" {
		return 0, false, nil
	}
	n, perr := strconv.Atoi(v)
	if perr != nil || n < 1 {
		return 0, false, &Error{Name: name, Value: v, Reason: "want a positive whole number"}
	}
	return n, true, nil
}

// Bool reads a boolean the way the OpenTelemetry specification asks: only a
// case-insensitive "true" is true; anything else but "false" is reported.
func Bool(name string) (b bool, ok bool, err error) {
	v, set := String(name)
	if !set {
		return false, false, nil
	}
	switch strings.ToLower(v) {
	case "true":
		return true, true, nil
	case "false":
		return false, true, nil
	}
	return false, false, &Error{Name: name, Value: v, Reason: `want "true" or "false"`}
}

// List splits a comma-separated value into trimmed, lower-cased, non-empty
// items.
func List(name string) []string {
	v, _ := String(name)
	return splitList(v)
}

func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.ToLower(strings.TrimSpace(item)); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// Duration reads a Go duration such as "250ms" or "1m30s" (time.ParseDuration
// syntax); "0" is allowed, negative values are not.
func Duration(name string) (d time.Duration, ok bool, err error) {
	v, _ := String(name)
	return parseDuration(name, v)
}

func parseDuration(name, v string) (d time.Duration, ok bool, err error) {
	if v == "" {
		return 0, false, nil
	}
	d, perr := time.ParseDuration(v)
	if perr != nil || d < 0 {
		return 0, false, &Error{Name: name, Value: v, Reason: `want a Go duration such as "10ms" or "30s"`}
	}
	return d, true, nil
}

// Flag reads an on/off switch: "1", "true" or "on" is on, "0", "false" or
// "off" is off (any case); anything else is reported.
func Flag(name string) (b bool, ok bool, err error) {
	v, _ := String(name)
	return parseFlag(name, v)
}

func parseFlag(name, v string) (b bool, ok bool, err error) {
	switch strings.ToLower(v) {
	case "":
		return false, false, nil
	case "1", "true", "on":
		return true, true, nil
	case "0", "false", "off":
		return false, true, nil
	}
	return false, false, &Error{Name: name, Value: v, Reason: `want "1", "true", "on", "0", "false" or "off"`}
}

// Off reports whether name is set to "off" or "false" (any case): the value
// that turns off what a threshold variable configures.
func Off(name string) bool {
	v, _ := String(name)
	return isOff(v)
}

func isOff(v string) bool {
	v = strings.ToLower(v)
	return v == "off" || v == "false"
}

// Fraction reads a share from 0 to 1, such as "0.8".
func Fraction(name string) (f float64, ok bool, err error) {
	v, _ := String(name)
	return parseFraction(name, v)
}

func parseFraction(name, v string) (f float64, ok bool, err error) {
	if v == "" {
		return 0, false, nil
	}
	f, perr := strconv.ParseFloat(v, 64)
	if perr != nil || !(f >= 0 && f <= 1) {
		return 0, false, &Error{Name: name, Value: v, Reason: "want a fraction from 0 to 1, such as 0.8"}
	}
	return f, true, nil
}

// Count reads a whole number that may be 0.
func Count(name string) (n int, ok bool, err error) {
	v, _ := String(name)
	return parseCount(name, v)
}

func parseCount(name, v string) (n int, ok bool, err error) {
	if v == "" {
		return 0, false, nil
	}
	n, perr := strconv.Atoi(v)
	if perr != nil || n < 0 {
		return 0, false, &Error{Name: name, Value: v, Reason: "want a whole number, 0 or more"}
	}
	return n, true, nil
}
