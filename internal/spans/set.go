package spans

import (
	"io"
	"slices"
)

// setChunk is the number of spans per storage chunk of a [Set]: growing a
// set never copies the spans already held.
const setChunk = 1 << 14

// Set holds the spans of one or more inputs grouped by trace, in the order
// in which each trace was first seen. Spans of one trace may arrive in any
// order and spread over the whole input, as batching exporters write them.
//
// A Set is not safe for concurrent mutation; once filled it may be read from
// many goroutines.
type Set struct {
	chunks [][]Span
	n      int
	next   []int32 // per span: the next span of the same trace, or -1
	traces []traceList
	index  map[TraceID]int32
}

type traceList struct {
	id          TraceID
	first, last int32
	n           int32
}

// NewSet returns an empty set.
func NewSet() *Set { return &Set{index: make(map[TraceID]int32)} }

// Add adds a copy of sp (its Attrs are copied too).
func (s *Set) Add(sp *Span) {
	if s.index == nil {
		s.index = make(map[TraceID]int32)
	}
	if s.n%setChunk == 0 {
		s.chunks = append(s.chunks, make([]Span, 0, setChunk))
	}
	c := &s.chunks[len(s.chunks)-1]
	*c = append(*c, *sp)
	if sp.Attrs != nil {
		(*c)[len(*c)-1].Attrs = slices.Clone(sp.Attrs)
	}
	i := int32(s.n)
	s.n++
	s.next = append(s.next, -1)
	t, ok := s.index[sp.TraceID]
	if !ok {
		t = int32(len(s.traces))
		s.index[sp.TraceID] = t
		s.traces = append(s.traces, traceList{id: sp.TraceID, first: i, last: i, n: 1})
		return
	}
	tl := &s.traces[t]
	s.next[tl.last] = i
	tl.last = i
	tl.n++
}

// Read decodes r as [Decode] does and returns its spans as a set.
func Read(r io.Reader, name string, opts ...Option) (*Set, error) {
	s := NewSet()
	if err := Decode(r, name, func(sp *Span) error { s.Add(sp); return nil }, opts...); err != nil {
		return nil, err
	}
	return s, nil
}

// Len returns the number of spans.
func (s *Set) Len() int { return s.n }

// NumTraces returns the number of traces.
func (s *Set) NumTraces() int { return len(s.traces) }

// TraceID returns the id of the i'th trace, in order of first appearance.
func (s *Set) TraceID(i int) TraceID { return s.traces[i].id }

// Lookup returns the index of the trace with the given id.
func (s *Set) Lookup(id TraceID) (int, bool) {
	i, ok := s.index[id]
	return int(i), ok
}

func (s *Set) span(i int32) *Span { return &s.chunks[i/setChunk][i%setChunk] }

// Spans appends the spans of the i'th trace to dst in input order and
// returns the extended slice.
func (s *Set) Spans(dst []Span, i int) []Span {
	for j := s.traces[i].first; j >= 0; j = s.next[j] {
		dst = append(dst, *s.span(j))
	}
	return dst
}

// Trace assembles the i'th trace; see [Assemble].
func (s *Set) Trace(i int) *Trace {
	return Assemble(s.Spans(make([]Span, 0, s.traces[i].n), i))
}

// Each assembles every trace in order and calls fn with it, stopping at the
// first error. The *Trace is reused between calls: fn must not keep it.
func (s *Set) Each(fn func(t *Trace) error) error {
	var a assembler
	var buf []Span
	for i := range s.traces {
		buf = s.Spans(slices.Grow(buf[:0], int(s.traces[i].n)), i)
		if err := fn(a.assemble(buf)); err != nil {
			return err
		}
	}
	return nil
}
