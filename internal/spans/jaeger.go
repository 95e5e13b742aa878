package spans

import (
	"math"

	"github.com/tracekit-go/tracekit/internal/semconv"
)

// jaegerState holds what a Jaeger trace object needs after its spans are
// read: each span's processID, resolved once the processes map is known.
type jaegerState struct {
	pids  []string // per span of the current trace object
	procs map[string]string
	refs  []jaegerRef
}

func (j *jaegerState) reset() {
	j.pids = j.pids[:0]
	clear(j.procs)
}

// jaegerData reads the data array of a Jaeger API response, or the one
// trace object the Jaeger UI keeps under data.
func (d *decoder) jaegerData() {
	s := &d.sc
	if s.peek() == '{' {
		d.jaegerTrace()
		return
	}
	if !s.open('[', "'[' opening data") {
		return
	}
	for first := true; s.more(']', &first); {
		d.jaegerTrace()
	}
}

func (d *decoder) jaegerTrace() {
	s := &d.sc
	if !s.open('{', "'{' opening a Jaeger trace") {
		return
	}
	j := &d.jaeger
	j.reset()
	if j.procs == nil {
		j.procs = make(map[string]string)
	}
	start := len(d.out)
	for first := true; s.more('}', &first); {
		switch string(s.key()) {
		case "spans":
			d.out = d.out[:start]
			j.pids = j.pids[:0]
			if !s.open('[', "'[' opening spans") {
				continue
			}
			for first := true; s.more(']', &first); {
				d.jaegerSpan()
			}
		case "processes":
			clear(j.procs)
			if !s.open('{', "'{' opening processes") {
				continue
			}
			for first := true; s.more('}', &first); {
				pid := d.str(s.key())
				j.procs[pid] = d.jaegerProcess()
			}
		default:
			s.skip()
		}
	}
	kept := start
	for i := start; i < len(d.out); i++ {
		sp := &d.out[i]
		if sp.Service == "" {
			sp.Service = j.procs[j.pids[i-start]]
		}
		if d.keep(sp) {
			d.out[kept] = *sp
			kept++
		}
	}
	d.out = d.out[:kept]
}

// jaegerProcess reads a process and returns its serviceName.
func (d *decoder) jaegerProcess() string {
	s := &d.sc
	name := ""
	if !s.open('{', "'{' opening a process") {
		return name
	}
	for first := true; s.more('}', &first); {
		switch string(s.key()) {
		case "serviceName":
			name = ""
			if !s.null() {
				name = d.str(s.str())
			}
		default:
			s.skip()
		}
	}
	return name
}

func (d *decoder) jaegerSpan() {
	s := &d.sc
	if !s.open('{', "'{' opening a Jaeger span") {
		return
	}
	d.out = append(d.out, Span{})
	sp := &d.out[len(d.out)-1]
	pid := ""
	attrStart := len(d.attrs)
	var startUS, durUS int64
	timeAt := s.pos
	var parentField SpanID
	refs := d.jaeger.refs[:0]
	errTag, statusCode := false, ""
	for first := true; s.more('}', &first); {
		switch string(s.key()) {
		case "traceID":
			d.jaegerID(sp.TraceID[:], "a trace id of at most 32 hex digits")
		case "spanID":
			d.jaegerID(sp.ID[:], "a span id of at most 16 hex digits")
		case "parentSpanID":
			d.jaegerID(parentField[:], "a span id of at most 16 hex digits")
		case "operationName":
			sp.Name = ""
			if !s.null() {
				sp.Name = d.str(s.str())
			}
		case "startTime":
			s.ws()
			timeAt = s.pos
			startUS = s.int64()
		case "duration":
			durUS = s.int64()
		case "processID":
			pid = ""
			if !s.null() {
				pid = d.str(s.str())
			}
		case "process":
			sp.Service = d.jaegerProcess()
		case "references":
			refs = refs[:0]
			if !s.open('[', "'[' opening references") {
				continue
			}
			for first := true; s.more(']', &first); {
				var r jaegerRef
				if !s.open('{', "'{' opening a reference") {
					continue
				}
				for first := true; s.more('}', &first); {
					switch string(s.key()) {
					case "refType":
						r.follows, r.child = false, false
						if !s.null() {
							switch string(s.str()) {
							case "CHILD_OF":
								r.child = true
							case "FOLLOWS_FROM":
								r.follows = true
							}
						}
					case "spanID":
						d.jaegerID(r.span[:], "a span id of at most 16 hex digits")
					case "traceID":
						d.jaegerID(r.trace[:], "a trace id of at most 32 hex digits")
					default:
						s.skip()
					}
				}
				if r.child || r.follows {
					refs = append(refs, r)
				}
			}
		case "tags":
			d.attrs = d.attrs[:attrStart]
			sp.Kind, errTag, statusCode, sp.Message = "", false, "", ""
			if !s.open('[', "'[' opening tags") {
				continue
			}
			for first := true; s.more(']', &first); {
				key, val, isStr, isTrue := d.jaegerTag()
				switch key {
				case semconv.Kind:
					sp.Kind = ""
					if isStr {
						sp.Kind = d.str([]byte(val))
					}
				case "error":
					errTag = isTrue || (isStr && val == "true")
				case "otel.status_code":
					statusCode = val
				case "otel.status_description":
					sp.Message = ""
					if isStr {
						sp.Message = d.str([]byte(val))
					}
				}
				if d.cfg.attrs {
					d.attrs = append(d.attrs, Attr{Key: d.str([]byte(key)), Value: val})
				}
			}
		default:
			s.skip()
		}
	}
	sp.Parent = parentField
	if len(refs) > 0 {
		sp.Parent = pickParent(refs, sp.TraceID)
	}
	d.jaeger.refs = refs
	switch {
	case statusCode == "ERROR" || errTag:
		sp.Status = StatusError
	case statusCode == "OK":
		sp.Status = StatusOK
	}
	const maxUS = math.MaxInt64 / 1000
	if startUS > maxUS || startUS < 0 || durUS > maxUS || durUS < -maxUS || startUS+durUS > maxUS || startUS+durUS < 0 {
		s.pos = timeAt
		s.fail("startTime and duration in microseconds after 1970 that fit in int64 nanoseconds")
	}
	sp.Start = startUS * 1000
	sp.End = (startUS + durUS) * 1000
	if d.cfg.attrs {
		sp.Attrs = d.attrs[attrStart:len(d.attrs):len(d.attrs)]
	}
	d.jaeger.pids = append(d.jaeger.pids, pid)
}

// jaegerRef is a CHILD_OF (child) or FOLLOWS_FROM reference of a span.
type jaegerRef struct {
	span           SpanID
	trace          TraceID
	child, follows bool
}

// pickParent chooses a span's parent among its references as Jaeger's UI
// does: the first CHILD_OF into the span's own trace, else the first
// FOLLOWS_FROM into it, else the first of either kind.
func pickParent(refs []jaegerRef, trace TraceID) SpanID {
	for _, want := range []func(r *jaegerRef) bool{
		func(r *jaegerRef) bool { return r.child && (r.trace.IsZero() || r.trace == trace) },
		func(r *jaegerRef) bool { return r.follows && (r.trace.IsZero() || r.trace == trace) },
		func(r *jaegerRef) bool { return r.child },
		func(r *jaegerRef) bool { return true },
	} {
		for k := range refs {
			if want(&refs[k]) {
				return refs[k].span
			}
		}
	}
	return SpanID{}
}

// jaegerTag reads {"key", "type", "value"} and returns the key and the value
// as text (strings as they are, other JSON values as written).
func (d *decoder) jaegerTag() (key, val string, isStr, isTrue bool) {
	s := &d.sc
	if !s.open('{', "'{' opening a tag") {
		return
	}
	for first := true; s.more('}', &first); {
		switch string(s.key()) {
		case "key":
			key = ""
			if !s.null() {
				key = string(s.str())
			}
		case "value":
			isStr, isTrue = false, false
			switch s.peek() {
			case '"':
				val, isStr = string(s.str()), true
			case '{', '[':
				at := s.pos
				s.skip()
				val = string(s.buf[at:s.pos])
			case 't', 'f', 'n':
				at := s.pos
				s.skip()
				val = string(s.buf[at:s.pos])
				isTrue = val == "true"
				if val == "null" {
					val = ""
				}
			default:
				val = string(s.number())
			}
		default:
			s.skip()
		}
	}
	return
}

// jaegerID reads a hex id of up to 2*len(dst) digits (Jaeger drops the
// leading zeros of trace ids).
func (d *decoder) jaegerID(dst []byte, what string) {
	s := &d.sc
	if s.null() {
		clear(dst)
		return
	}
	at := s.pos
	if !hexID(dst, s.str()) {
		s.pos = at
		s.fail(what)
	}
}
