package tracekit

import "go.opentelemetry.io/otel/attribute"

// The attribute convention: keys tracekit writes on the spans it records, so
// that tools (cmd/flamegen among them) classify spans without guessing from
// their names. docs/attributes.md has the same table for readers outside Go.
// Standard semantic-convention keys (code.*, exception.*) are used where one
// exists; these cover what the standard has no word for.
const (
	// KeyKind says what operation a span stands for; its values are the
	// Kind constants.
	KeyKind = attribute.Key("tracekit.kind")
	// KeyGroup is the name of the [Group] a task belongs to.
	KeyGroup = attribute.Key("tracekit.group")
	// KeyGroupLimit is the concurrency bound of a [Group], when it has one.
	KeyGroupLimit = attribute.Key("tracekit.group.limit")
	// KeyPanic is true on a task span whose function panicked.
	KeyPanic = attribute.Key("tracekit.panic")
	// KeyCanceled is true on a task span whose context was done when its
	// function returned.
	KeyCanceled = attribute.Key("tracekit.canceled")
	// KeyCancelCause holds context.Cause of a task's context when it was done.
	KeyCancelCause = attribute.Key("tracekit.cancel.cause")
)

// Kind is a value of [KeyKind].
type Kind string

const (
	// KindGoroutine marks the span of a goroutine started by [Go] or
	// [Group.Go]; it covers the goroutine's whole life.
	KindGoroutine Kind = "goroutine"
	// KindGroup marks the span of a [Group]; it covers NewGroup to the end
	// of Wait.
	KindGroup Kind = "group"
)

func (k Kind) attr() attribute.KeyValue { return KeyKind.String(string(k)) }

// attrOutcome labels the tracekit.export.spans metric.
const attrOutcome = attribute.Key("outcome")
