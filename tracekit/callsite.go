package tracekit

import (
	"runtime"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
)

// callSites caches the code.* attributes of each spawn site by program
// counter. Symbolizing a PC costs far more than a map lookup, and a program
// has few distinct spawn sites, so each is resolved once.
var callSites sync.Map // uintptr -> []attribute.KeyValue

// callerAttrs returns the code.* attributes for the function skip frames
// above its caller. The returned slice is shared: callers must not modify it.
func callerAttrs(skip int) []attribute.KeyValue {
	var pcs [1]uintptr
	if runtime.Callers(skip+2, pcs[:]) < 1 {
		return nil
	}
	if v, ok := callSites.Load(pcs[0]); ok {
		return v.([]attribute.KeyValue)
	}
	frame, _ := runtime.CallersFrames(pcs[:]).Next()
	attrs := []attribute.KeyValue{
		semconv.CodeFunctionName(frame.Function),
		keyCodeFunctionLegacy.String(frame.Function),
		semconv.CodeFilePath(frame.File),
		semconv.CodeLineNumber(frame.Line),
	}
	v, _ := callSites.LoadOrStore(pcs[0], attrs)
	return v.([]attribute.KeyValue)
}
