package jaeger

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// The types below mirror the JSON of Jaeger's v1 query API
// (GET /api/traces/{id}), which is the data model of the Jaeger UI.

// Trace is one trace as the v1 query API returns it.
type Trace struct {
	TraceID string `json:"traceID"`
	Spans   []Span `json:"spans"`
	// Processes maps [Span.ProcessID] to the process (the OpenTelemetry
	// resource) that emitted the span.
	Processes map[string]Process `json:"processes"`
	Warnings  []string           `json:"warnings"`
}

// Span is one span of a [Trace].
type Span struct {
	TraceID       string      `json:"traceID"`
	SpanID        string      `json:"spanID"`
	OperationName string      `json:"operationName"`
	References    []Reference `json:"references"`
	// StartTime is in microseconds since the Unix epoch; see [Span.Start].
	StartTime int64 `json:"startTime"`
	// Duration is in microseconds; see [Span.Elapsed].
	Duration int64 `json:"duration"`
	// Tags hold the span's attributes and the fields Jaeger derives from the
	// OpenTelemetry span, such as span.kind, otel.scope.name and otel.status_code.
	Tags []KeyValue `json:"tags"`
	// Logs are the span's events.
	Logs      []Log    `json:"logs"`
	ProcessID string   `json:"processID"`
	Warnings  []string `json:"warnings"`
}

// Reference links a span to another span.
type Reference struct {
	RefType RefType `json:"refType"`
	TraceID string  `json:"traceID"`
	SpanID  string  `json:"spanID"`
}

// RefType is the kind of a [Reference].
type RefType string

// Reference kinds. A span's parent is its ChildOf reference; OpenTelemetry
// links become FollowsFrom references.
const (
	ChildOf     RefType = "CHILD_OF"
	FollowsFrom RefType = "FOLLOWS_FROM"
)

// Process is the emitter of spans: a service name and its resource attributes.
type Process struct {
	ServiceName string     `json:"serviceName"`
	Tags        []KeyValue `json:"tags"`
}

// Log is a span event.
type Log struct {
	// Timestamp is in microseconds since the Unix epoch.
	Timestamp int64 `json:"timestamp"`
	// Fields hold the event's attributes and its name, under the key "event".
	Fields []KeyValue `json:"fields"`
}

// ValueType is the type of a [KeyValue]'s value.
type ValueType string

// Value types, as the v1 API spells them.
const (
	StringType  ValueType = "string"
	BoolType    ValueType = "bool"
	Int64Type   ValueType = "int64"
	Float64Type ValueType = "float64"
	BinaryType  ValueType = "binary"
)

// KeyValue is a tag or a log field.
//
// Value has the Go type that Type names: string, bool, int64, float64, or
// []byte for binary values. Integers are exact: they are decoded without a
// detour through float64, and those beyond JavaScript's safe range, which
// Jaeger sends as decimal strings, are parsed back. Other types keep what
// encoding/json makes of them.
type KeyValue struct {
	Key   string    `json:"key"`
	Type  ValueType `json:"type"`
	Value any       `json:"value"`
}

// UnmarshalJSON decodes Value according to Type.
func (kv *KeyValue) UnmarshalJSON(data []byte) error {
	var raw struct {
		Key   string          `json:"key"`
		Type  ValueType       `json:"type"`
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	var err error
	switch raw.Type {
	case StringType:
		kv.Value, err = decodeAs[string](raw.Value)
	case BoolType:
		kv.Value, err = decodeAs[bool](raw.Value)
	case Int64Type:
		kv.Value, err = decodeInt64(raw.Value)
	case Float64Type:
		kv.Value, err = decodeAs[float64](raw.Value)
	case BinaryType:
		kv.Value, err = decodeAs[[]byte](raw.Value)
	default:
		kv.Value, err = decodeAs[any](raw.Value)
	}
	if err != nil {
		return fmt.Errorf("decode %s value of tag %q: %w", raw.Type, raw.Key, err)
	}
	kv.Key, kv.Type = raw.Key, raw.Type
	return nil
}

// decodeInt64 accepts a JSON number or, for values beyond JavaScript's safe
// integer range (±2^53-1) which Jaeger sends as strings, a decimal string.
func decodeInt64(data json.RawMessage) (int64, error) {
	if len(data) > 0 && data[0] == '"' {
		s, err := decodeAs[string](data)
		if err != nil {
			return 0, err
		}
		return strconv.ParseInt(s, 10, 64)
	}
	return decodeAs[int64](data)
}

func decodeAs[T any](data json.RawMessage) (T, error) {
	var v T
	if len(data) == 0 {
		return v, nil
	}
	err := json.Unmarshal(data, &v)
	return v, err
}

// SpanByName returns the first span whose operation name is name.
func (t Trace) SpanByName(name string) (Span, bool) {
	for _, s := range t.Spans {
		if s.OperationName == name {
			return s, true
		}
	}
	return Span{}, false
}

// SpanByID returns the span with the given hex span ID.
func (t Trace) SpanByID(id string) (Span, bool) {
	for _, s := range t.Spans {
		if s.SpanID == id {
			return s, true
		}
	}
	return Span{}, false
}

// ServiceOf returns the service name of the process that emitted s, or ""
// when the trace does not list that process.
func (t Trace) ServiceOf(s Span) string {
	return t.Processes[s.ProcessID].ServiceName
}

// Tag returns the value of the span's tag key.
func (s Span) Tag(key string) (any, bool) {
	return lookup(s.Tags, key)
}

// ParentID returns the span ID of the span's CHILD_OF reference, or "" for a
// root span.
func (s Span) ParentID() string {
	for _, r := range s.References {
		if r.RefType == ChildOf {
			return r.SpanID
		}
	}
	return ""
}

// Start returns the span's start time.
func (s Span) Start() time.Time { return time.UnixMicro(s.StartTime) }

// Elapsed returns the span's duration.
func (s Span) Elapsed() time.Duration { return time.Duration(s.Duration) * time.Microsecond }

// Tag returns the value of the process's tag key, a resource attribute.
func (p Process) Tag(key string) (any, bool) {
	return lookup(p.Tags, key)
}

// Field returns the value of the log's field key.
func (l Log) Field(key string) (any, bool) {
	return lookup(l.Fields, key)
}

func lookup(kvs []KeyValue, key string) (any, bool) {
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return nil, false
}
