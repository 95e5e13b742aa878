package tracekit

import (
	"math"

	"go.opentelemetry.io/otel/attribute"

	"github.com/tracekit-go/tracekit/internal/semconv"
)

// The attribute convention: keys tracekit writes on the spans it records, so
// that tools (cmd/flamegen among them) classify spans without guessing from
// their names. docs/attributes.md has the same table for readers outside Go.
// Standard semantic-convention keys (code.*, exception.*) are used where one
// exists; these cover what the standard has no word for.
const (
	// KeyKind says what operation a span stands for; its values are the
	// Kind constants.
	KeyKind = attribute.Key(semconv.Kind)
	// KeyGroup is the name of the [Group] a task belongs to.
	KeyGroup = attribute.Key(semconv.Group)
	// KeyGroupLimit is the concurrency bound of a [Group], when it has one.
	KeyGroupLimit = attribute.Key(semconv.GroupLimit)
	// KeyPanic is true on a task span whose function panicked.
	KeyPanic = attribute.Key(semconv.Panic)
	// KeyCanceled is true on a task span whose context was done when its
	// function returned.
	KeyCanceled = attribute.Key(semconv.Canceled)
	// KeyCancelCause holds context.Cause of a task's context when it was done.
	KeyCancelCause = attribute.Key(semconv.CancelCause)

	// KeyLockName is the name of a [Mutex] or [RWMutex] on its lock spans
	// and metrics.
	KeyLockName = attribute.Key(semconv.LockName)
	// KeyLockMode is "write" or "read" on the spans of an [RWMutex].
	KeyLockMode = attribute.Key(semconv.LockMode)
	// KeyChanName is the name of the channel on channel spans.
	KeyChanName = attribute.Key(semconv.ChanName)
	// KeyWaitNS is how long a lock or channel operation waited, in
	// nanoseconds.
	KeyWaitNS = attribute.Key(semconv.WaitNS)
	// KeyHoldNS is how long a lock was held, in nanoseconds.
	KeyHoldNS = attribute.Key(semconv.HoldNS)
	// KeyReportKind is the [ReportKind] of a tracekit.report span event.
	KeyReportKind = attribute.Key(semconv.ReportKind)
	// KeyReportTasks lists the IDs of the tasks a tracekit.report event is
	// about ([Report.Tasks]).
	KeyReportTasks = attribute.Key(semconv.ReportTasks)
	// KeySpawnSite is the spawn site of a spawn-growth report,
	// "function (file:line)", and KeyTaskCount its live tasks.
	KeySpawnSite = attribute.Key(semconv.SpawnSite)
	KeyTaskCount = attribute.Key(semconv.TaskCount)
	// KeyMemoryUsed, KeyMemoryLimit, KeyMemoryLimitSource and
	// KeyMemoryLiveHeap carry a memory report's numbers ([MemoryUsage]):
	// bytes in use, the limit in bytes (absent when there is none), where
	// the limit was read, and the live heap after the last GC.
	KeyMemoryUsed        = attribute.Key(semconv.MemoryUsed)
	KeyMemoryLimit       = attribute.Key(semconv.MemoryLimit)
	KeyMemoryLimitSource = attribute.Key(semconv.MemoryLimitSource)
	KeyMemoryLiveHeap    = attribute.Key(semconv.MemoryLiveHeap)
)

// reportAttrs are the structured attributes of a report beyond its kind,
// message and stacks, for its span event.
func reportAttrs(r *Report) []attribute.KeyValue {
	var out []attribute.KeyValue
	if r.Lock != "" && r.channel {
		out = append(out, KeyChanName.String(r.Lock))
	} else if r.Lock != "" {
		out = append(out, KeyLockName.String(r.Lock))
	}
	if len(r.Tasks) > 0 {
		ids := make([]int64, len(r.Tasks))
		for i := range r.Tasks {
			ids[i] = int64(r.Tasks[i].ID)
		}
		out = append(out, KeyReportTasks.Int64Slice(ids))
	}
	if r.SpawnSite != "" {
		out = append(out, KeySpawnSite.String(r.SpawnSite), KeyTaskCount.Int(r.Count))
	}
	if m := r.Memory; m != nil {
		out = append(out, KeyMemoryUsed.Int64(int64(min(m.Used, math.MaxInt64))),
			KeyMemoryLiveHeap.Int64(int64(min(m.LiveHeap, math.MaxInt64))))
		if m.Limit > 0 {
			out = append(out, KeyMemoryLimit.Int64(int64(min(m.Limit, math.MaxInt64))),
				KeyMemoryLimitSource.String(m.LimitSource))
		}
	}
	return out
}

// Kind is a value of [KeyKind].
type Kind string

const (
	// KindGoroutine marks the span of a goroutine started by [Go] or
	// [Group.Go]; it covers the goroutine's whole life.
	KindGoroutine Kind = semconv.KindGoroutine
	// KindGroup marks the span of a [Group]; it covers NewGroup to the end
	// of Wait.
	KindGroup Kind = semconv.KindGroup
	// KindLockWait marks the span of a lock acquisition that waited past
	// the slow threshold; it covers the wait.
	KindLockWait Kind = semconv.KindLockWait
	// KindLockHold marks the span of a lock hold that lasted past the slow
	// threshold; it covers the hold.
	KindLockHold Kind = semconv.KindLockHold
	// KindChanSend marks the span of a channel send that blocked past the
	// slow threshold; it covers the wait.
	KindChanSend Kind = semconv.KindChanSend
	// KindChanRecv marks the span of a channel receive that blocked past the
	// slow threshold; it covers the wait.
	KindChanRecv Kind = semconv.KindChanRecv
)

func (k Kind) attr() attribute.KeyValue { return KeyKind.String(string(k)) }

// attrOutcome labels the tracekit.export.spans metric.
const attrOutcome = attribute.Key(semconv.Outcome)
