package spans

import "math"

// jaegerState holds what a Jaeger trace object needs after its spans are
// read: each span's processID, resolved once the processes map is known.
type jaegerState struct {
	pids  []string // per span of the current trace object
	procs map[string]string
}

func (j *jaegerState) reset() {
	j.pids = j.pids[:0]
	clear(j.procs)
}

// jaegerData reads the data array of a Jaeger API response.
func (d *decoder) jaegerData() {
	s := &d.sc
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
	var childOf, followsFrom, parentField SpanID
	var hasChildOf, hasFollows bool
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
			hasChildOf, hasFollows = false, false
			if !s.open('[', "'[' opening references") {
				continue
			}
			for first := true; s.more(']', &first); {
				var id SpanID
				ref := ""
				if !s.open('{', "'{' opening a reference") {
					continue
				}
				for first := true; s.more('}', &first); {
					switch string(s.key()) {
					case "refType":
						ref = ""
						if !s.null() {
							ref = string(s.str())
						}
					case "spanID":
						d.jaegerID(id[:], "a span id of at most 16 hex digits")
					default:
						s.skip()
					}
				}
				switch {
				case ref == "CHILD_OF" && !hasChildOf:
					childOf, hasChildOf = id, true
				case ref == "FOLLOWS_FROM" && !hasFollows:
					followsFrom, hasFollows = id, true
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
				case "tracekit.kind":
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
	switch {
	case hasChildOf:
		sp.Parent = childOf
	case hasFollows:
		sp.Parent = followsFrom
	default:
		sp.Parent = parentField
	}
	switch {
	case statusCode == "ERROR" || errTag:
		sp.Status = StatusError
	case statusCode == "OK":
		sp.Status = StatusOK
	}
	const maxUS = math.MaxInt64 / 1000
	if startUS > maxUS || startUS < -maxUS || durUS > maxUS || durUS < -maxUS || startUS+durUS > maxUS {
		s.pos = timeAt
		s.fail("startTime and duration in microseconds that fit in int64 nanoseconds")
	}
	sp.Start = startUS * 1000
	sp.End = (startUS + durUS) * 1000
	if d.cfg.attrs {
		sp.Attrs = d.attrs[attrStart:len(d.attrs):len(d.attrs)]
	}
	d.jaeger.pids = append(d.jaeger.pids, pid)
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
