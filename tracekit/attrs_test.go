package tracekit

import (
	"go.opentelemetry.io/otel/attribute"

	"github.com/tracekit-go/tracekit/internal/semconv"
)

// The convention's keys and kinds, as the tests look for them.
const (
	keyKind        = attribute.Key(semconv.Kind)
	keyGroup       = attribute.Key(semconv.Group)
	keyGroupLimit  = attribute.Key(semconv.GroupLimit)
	keyPanic       = attribute.Key(semconv.Panic)
	keyCanceled    = attribute.Key(semconv.Canceled)
	keyCancelCause = attribute.Key(semconv.CancelCause)
	keyLockName    = attribute.Key(semconv.LockName)
	keyLockMode    = attribute.Key(semconv.LockMode)
	keyChanName    = attribute.Key(semconv.ChanName)
	keyWaitNS      = attribute.Key(semconv.WaitNS)
	keyHoldNS      = attribute.Key(semconv.HoldNS)
	keyReportKind  = attribute.Key(semconv.ReportKind)
	keyReportTasks = attribute.Key(semconv.ReportTasks)
	keyLogLevel    = attribute.Key(semconv.LogLevel)
	logKeyTraceID  = semconv.LogTraceID
	logKeySpanID   = semconv.LogSpanID
	kindGoroutine  = semconv.KindGoroutine
	kindGroup      = semconv.KindGroup
	kindFunction   = semconv.KindFunction
	kindLockWait   = semconv.KindLockWait
	kindLockHold   = semconv.KindLockHold
	kindChanSend   = semconv.KindChanSend
	kindChanRecv   = semconv.KindChanRecv
)
