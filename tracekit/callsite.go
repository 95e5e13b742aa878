package tracekit

import (
	"runtime"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
)

// callSites caches the attributes of each spawn site by program counter:
// the span kind and code.function.name, code.file.path, code.line.number.
// Symbolizing a PC costs far more than a map lookup, and a program has few
// distinct spawn sites, so each is resolved once. A PC always calls the same
// tracekit function, so its kind never changes.
var callSites sync.Map // uintptr -> []attribute.KeyValue

// siteAttrs returns kind and the code.* attributes of the caller skip frames
// above siteAttrs's caller. The returned slice is shared: callers must not
// modify it.
func siteAttrs(skip int, kind Kind) []attribute.KeyValue {
	var pcs [1]uintptr
	if runtime.Callers(skip+2, pcs[:]) < 1 {
		return nil
	}
	if v, ok := callSites.Load(pcs[0]); ok {
		return v.([]attribute.KeyValue)
	}
	frame, _ := runtime.CallersFrames(pcs[:]).Next()
	attrs := []attribute.KeyValue{
		kind.attr(),
		semconv.CodeFunctionName(frame.Function),
		semconv.CodeFilePath(frame.File),
		semconv.CodeLineNumber(frame.Line),
	}
	v, _ := callSites.LoadOrStore(pcs[0], attrs)
	return v.([]attribute.KeyValue)
}
