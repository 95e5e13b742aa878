// Package exectrace reads Go execution traces (runtime/trace, go test
// -trace, /debug/pprof/trace, a flight recorder's snapshot) with the Go
// team's parser, golang.org/x/exp/trace, finds the spans that tracekit
// marked in them (package internal/xtrace), and breaks each span's wall time
// on its goroutine into runtime states: running, runnable, syscall, lock,
// channel, sleep, gc, other. A blocked stretch names what ended it: the
// goroutine that unlocked or sent, and the marked span it was in.
//
// [Read] returns a [Trace]; [Trace.Join] turns it into a [spans.Runtime]
// keyed by span ID, in the time base of a span file's spans, or of the
// markers' own spans ([Trace.Set]) when there is no span file. A trace cut
// short (a truncated flight-recorder file) gives what its complete parts
// hold, with [Warnings.Cut] set.
package exectrace

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"golang.org/x/exp/trace"

	"github.com/tracekit-go/tracekit/internal/flame"
	"github.com/tracekit-go/tracekit/internal/spans"
	"github.com/tracekit-go/tracekit/internal/xtrace"
)

// Sniff reports whether head, the first bytes of an input, is a Go
// execution trace ("go 1.NN trace" and NUL padding).
func Sniff(head []byte) bool {
	const least = len("go 1.22 trace")
	if len(head) < least || string(head[:5]) != "go 1." {
		return false
	}
	rest := head[5:]
	i := 0
	for i < len(rest) && i < 3 && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	return i > 0 && strings.HasPrefix(string(rest[i:min(len(rest), i+6)]), " trace")
}

// Span is one span found from its markers.
type Span struct {
	spans.Span // Start and End in Unix nanoseconds when the trace has a wall clock snapshot (Go 1.25+), else in trace time
	// Goroutine is the goroutine the span's markers were logged on.
	Goroutine int64
	// Begin and Finish are the markers' times, in trace time
	// (nanoseconds).
	Begin, Finish int64
	// Open reports that the trace ended before the span's end marker (or,
	// for a span that lasts as long as its goroutine, before the goroutine
	// ended); Finish is then the trace's last event.
	Open bool
	// untilExit marks a span that ends when its goroutine does
	// (xtrace.KindGoroutine).
	untilExit bool

	stretches []spans.Stretch // in Start and End's time base
}

// Warnings counts what was wrong with a trace's markers and how it was
// handled. None of these stops a read.
type Warnings struct {
	// Malformed are markers that did not parse; they are skipped.
	Malformed int
	// Open are spans still open when the trace ended; they end there.
	Open int
	// Unmatched are end markers of spans that never began in the trace
	// (they began before it started); they are skipped.
	Unmatched int
	// Cut is the parser's error when the trace was cut short or damaged
	// after some complete parts: the spans are those of the parts read.
	Cut string
}

// Any reports whether any warning is set.
func (w Warnings) Any() bool { return w != Warnings{} }

// String lists the warnings, e.g. "2 spans still open at the end".
func (w Warnings) String() string {
	var parts []string
	add := func(n int, one, many string) { parts = spans.AppendCount(parts, n, one, many) }
	add(w.Malformed, "malformed span marker skipped", "malformed span markers skipped")
	add(w.Open, "span still open at the end (ended there)", "spans still open at the end (ended there)")
	add(w.Unmatched, "span ending that began before the trace", "span endings that began before the trace")
	if w.Cut != "" {
		parts = append(parts, "cut short ("+w.Cut+"): read up to there")
	}
	return strings.Join(parts, ", ")
}

// Trace is what [Read] found in an execution trace.
type Trace struct {
	// Spans are the marked spans in the order their first marker came.
	Spans    []Span
	Warnings Warnings
	// Events is the number of events read, the parser's synchronisation
	// events between parts left out.
	Events int
	// WallOffset is added to a trace time to get Unix nanoseconds; HasWall
	// says whether the trace had a clock snapshot to compute it from.
	WallOffset int64
	HasWall    bool
}

// Read reads the execution trace r, named name in errors, and at most max
// bytes of it (no limit when max <= 0): what it keeps grows with the
// trace's size. An input that is not an execution trace, or that breaks
// before its first complete part, fails with a [*flame.ParseError]; one that
// breaks later gives the spans read so far and [Warnings.Cut].
func Read(r io.Reader, name string, max int64) (*Trace, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r)
	}
	head, _ := br.Peek(16)
	if !Sniff(head) {
		return nil, &flame.ParseError{Input: name, Err: flame.ErrFormat, Expected: "a Go execution trace (\"go 1.NN trace\" header)"}
	}
	var src io.Reader = br
	if max > 0 {
		src = flame.LimitReader(br, name, max, "of execution trace")
	}
	cr := &countingReader{r: src}
	rd, err := newReader(cr)
	if err != nil {
		if cr.err != nil {
			return nil, cr.err
		}
		return nil, &flame.ParseError{Input: name, Err: flame.ErrFormat, Expected: "a Go execution trace of Go 1.22 or later: " + err.Error()}
	}
	b := newBuilder()
	for {
		ev, err := next(rd)
		if err == io.EOF {
			break
		}
		if err != nil {
			if cr.err != nil {
				// The input failed (--max-size, a signal), not the trace:
				// the parser's message would only say it was cut.
				return nil, cr.err
			}
			if b.events == 0 {
				return nil, &flame.ParseError{Input: name, Offset: cr.n, Err: flame.ErrCorrupt,
					Expected: "an execution trace with at least one complete part: " + err.Error()}
			}
			b.warn.Cut = err.Error()
			break
		}
		b.event(&ev)
	}
	if b.events == 0 {
		return nil, &flame.ParseError{Input: name, Offset: cr.n, Err: flame.ErrEmpty, Expected: "an execution trace with events after its header"}
	}
	return b.finish(), nil
}

// countingReader counts the bytes the parser has read: where it stopped
// when the input breaks (exactly, when it was cut short; a buffer's worth
// past the fault otherwise).
type countingReader struct {
	r   io.Reader
	n   int64
	err error // the first error other than io.EOF
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

// newReader wraps trace.NewReader, which may panic on damaged headers.
func newReader(r io.Reader) (rd *trace.Reader, err error) {
	defer func() {
		if p := recover(); p != nil {
			rd, err = nil, fmt.Errorf("damaged trace: %v", p)
		}
	}()
	return trace.NewReader(r)
}

// next reads one event; the parser's panics on damaged input become errors.
func next(rd *trace.Reader) (ev trace.Event, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("damaged trace: %v", p)
		}
	}()
	return rd.ReadEvent()
}

// keep is how many stretches a goroutine with no open span remembers, for a
// span made after the fact (a wait logged when it ends).
const keep = 64

// seg is one stretch of a goroutine's timeline, in trace time.
type seg struct {
	start, end int64
	state      spans.State
	label      string
	byG        int64
	bySpan     spans.SpanID
}

// gor is what the builder tracks of one goroutine.
type gor struct {
	state  trace.GoState
	reason string
	stack  trace.Stack
	since  int64
	assist bool
	active []int32 // open spans on the goroutine, innermost last
	tl     []seg
	done   []int32 // spans made after the fact, for naming waits
}

type labelKey struct {
	reason string
	stack  trace.Stack
}

// blocked is what classify makes of a reason and a stack.
type blocked struct {
	state spans.State
	label string
}

type builder struct {
	tr     Trace
	g      map[trace.GoID]*gor
	open   map[spans.SpanID]int32 // spans begun and not ended, by id
	labels map[labelKey]blocked
	stw    [][2]int64
	stwAt  int64
	events int
	last   int64
	warn   Warnings
	names  map[string]string // interned span names and kinds
}

func newBuilder() *builder {
	return &builder{g: map[trace.GoID]*gor{}, open: map[spans.SpanID]int32{}, labels: map[labelKey]blocked{}, names: map[string]string{}, stwAt: -1}
}

func (b *builder) gor(id trace.GoID, t int64) *gor {
	g := b.g[id]
	if g == nil {
		g = &gor{since: t}
		b.g[id] = g
	}
	return g
}

func (b *builder) event(ev *trace.Event) {
	t := int64(ev.Time())
	b.last = max(b.last, t)
	if ev.Kind() != trace.EventSync {
		b.events++
	}
	switch ev.Kind() {
	case trace.EventSync:
		if cs := ev.Sync().ClockSnapshot; cs != nil && !b.tr.HasWall {
			b.tr.HasWall, b.tr.WallOffset = true, cs.Wall.UnixNano()-int64(cs.Trace)
		}
		clear(b.labels) // stacks are per part of the trace
	case trace.EventStateTransition:
		st := ev.StateTransition()
		if st.Resource.Kind != trace.ResourceGoroutine {
			return
		}
		id := st.Resource.Goroutine()
		from, to := st.Goroutine()
		g := b.gor(id, t)
		if to == g.state && (from == to || from == trace.GoUndetermined) {
			// A new part of the trace restating what we know: the
			// goroutine's status as the part begins, or when it is first
			// touched in it (Waiting->Waiting).
			return
		}
		var byG int64
		var bySpan spans.SpanID
		if from == trace.GoWaiting && to == trace.GoRunnable {
			if u := ev.Goroutine(); u != trace.NoGoroutine && u != id {
				byG = int64(u)
				if ug := b.g[u]; ug != nil && len(ug.active) > 0 {
					bySpan = b.tr.Spans[ug.active[len(ug.active)-1]].ID
				}
			}
		}
		b.close(g, t, byG, bySpan)
		g.state, g.reason, g.stack = to, st.Reason, st.Stack
		if to == trace.GoNotExist {
			b.exited(g, t)
			if len(g.active) == 0 && len(g.done) == 0 {
				delete(b.g, id)
			}
		}
	case trace.EventRangeBegin, trace.EventRangeActive, trace.EventRangeEnd:
		r := ev.Range()
		begin := ev.Kind() != trace.EventRangeEnd
		switch {
		case r.Name == "GC mark assist" && r.Scope.Kind == trace.ResourceGoroutine:
			if g := b.gor(r.Scope.Goroutine(), t); g.assist != begin {
				b.close(g, t, 0, spans.SpanID{})
				g.assist = begin
			}
		case strings.HasPrefix(r.Name, "stop-the-world"):
			if begin && b.stwAt < 0 {
				b.stwAt = t
			} else if !begin && b.stwAt >= 0 {
				b.stw = append(b.stw, [2]int64{b.stwAt, t})
				b.stwAt = -1
			}
		}
	case trace.EventLog:
		l := ev.Log()
		if l.Category != xtrace.Category {
			return
		}
		m, err := xtrace.Parse(l.Category, l.Message)
		if err != nil {
			b.warn.Malformed++
			return
		}
		b.marker(ev.Goroutine(), t, &m)
	}
}

// close ends goroutine g's current stretch at t.
func (b *builder) close(g *gor, t int64, byG int64, bySpan spans.SpanID) {
	if t > g.since {
		st, label := b.classify(g)
		g.tl = append(g.tl, seg{start: g.since, end: t, state: st, label: label, byG: byG, bySpan: bySpan})
		if len(g.tl) > 2*keep && len(g.tl) == cap(g.tl) {
			b.trim(g)
		}
	}
	g.since = max(g.since, t)
}

// trim forgets the stretches of g that no open span on it needs, keeping
// the last [keep] for a span made after the fact.
func (b *builder) trim(g *gor) {
	lo := b.last
	for _, i := range g.active {
		lo = min(lo, b.tr.Spans[i].Begin)
	}
	cut, _ := slices.BinarySearchFunc(g.tl, lo, func(s seg, t int64) int { return cmp.Compare(s.end, t+1) })
	cut = min(cut, len(g.tl)-keep)
	if cut >= len(g.tl)/2 { // a copy of at most as much as was appended since the last
		g.tl = g.tl[:copy(g.tl, g.tl[cut:])]
	}
}

// classify names the state g has been in since g.since.
func (b *builder) classify(g *gor) (spans.State, string) {
	switch g.state {
	case trace.GoRunning:
		if g.assist {
			return spans.StateGC, "gc"
		}
		return spans.StateRunning, "running"
	case trace.GoRunnable:
		return spans.StateRunnable, "runnable"
	case trace.GoSyscall:
		return spans.StateSyscall, "syscall"
	case trace.GoWaiting:
	default:
		return spans.StateOther, "other"
	}
	var st spans.State
	var what string
	switch r := g.reason; {
	case r == "sync" || r == "sync.(*Cond).Wait":
		st, what = spans.StateLock, "lock"
	case r == "chan send":
		st, what = spans.StateChannel, "chan send"
	case r == "chan receive":
		st, what = spans.StateChannel, "chan recv"
	case r == "select":
		st, what = spans.StateChannel, "select"
	case r == "sleep":
		return spans.StateSleep, "sleep"
	case strings.Contains(r, "GC"):
		return spans.StateGC, "gc"
	case r == "network":
		return spans.StateOther, "network"
	default:
		return spans.StateOther, "other"
	}
	k := labelKey{g.reason, g.stack}
	if v, ok := b.labels[k]; ok {
		return v.state, v.label
	}
	fn, tkLock := blocker(g.stack)
	if tkLock {
		// A tracekit lock waited for with a context that can be done
		// blocks in a select on its wake channel.
		st, what = spans.StateLock, "lock"
	}
	l := what
	if fn != "" {
		l += ": " + fn
	}
	b.labels[k] = blocked{st, l}
	return st, l
}

// tracekit's lock code, which a goroutine waiting on a tracekit.Mutex or
// RWMutex blocks in.
var tracekitLock = []string{
	"github.com/tracekit-go/tracekit/internal/detect.(*Lock).",
	"github.com/tracekit-go/tracekit/tracekit.(*Mutex).",
	"github.com/tracekit-go/tracekit/tracekit.(*RWMutex).",
	"github.com/tracekit-go/tracekit/tracekit.waitLock",
}

// blocker returns the function that blocked, without its import path: the
// first frame of stack outside the runtime, the sync packages and
// tracekit's locks; tkLock reports that it blocked inside a tracekit lock.
func blocker(s trace.Stack) (fn string, tkLock bool) {
	for f := range s.Frames() {
		fn := f.Func
		if strings.HasPrefix(fn, "runtime.") || strings.HasPrefix(fn, "sync.") || strings.HasPrefix(fn, "internal/sync.") {
			continue
		}
		if slices.ContainsFunc(tracekitLock, func(p string) bool { return strings.HasPrefix(fn, p) }) {
			tkLock = true
			continue
		}
		if dot := strings.IndexByte(fn[strings.LastIndexByte(fn, '/')+1:], '.'); dot >= 0 {
			fn = fn[strings.LastIndexByte(fn, '/')+1:]
		}
		return fn, tkLock
	}
	return "", tkLock
}

// marker records one parsed marker logged by goroutine id at time t.
func (b *builder) marker(id trace.GoID, t int64, m *xtrace.Marker) {
	g := b.gor(id, t)
	switch m.Kind {
	case xtrace.KindBegin, xtrace.KindGoroutine:
		i := b.add(m, id, t)
		b.tr.Spans[i].untilExit = m.Kind == xtrace.KindGoroutine
		g.active = append(g.active, i)
		b.open[m.SpanID] = i
	case xtrace.KindEnd:
		i, ok := b.open[m.SpanID]
		if !ok {
			b.warn.Unmatched++
			return
		}
		delete(b.open, m.SpanID)
		sp := &b.tr.Spans[i]
		og := b.g[trace.GoID(sp.Goroutine)]
		if og == nil {
			og = g
		}
		b.end(og, i, t)
		if k := slices.Index(og.active, i); k >= 0 {
			og.active = slices.Delete(og.active, k, k+1)
		}
	case xtrace.KindDone:
		start := max(t-int64(m.Duration), 0)
		i := b.add(m, id, start)
		b.end(g, i, t)
		if m.SpanKind == "lock.wait" || strings.HasPrefix(m.SpanKind, "chan.") {
			g.done = append(g.done, i)
		}
	}
}

// exited ends the spans on goroutine g that last as long as it, which
// has just ended at t.
func (b *builder) exited(g *gor, t int64) {
	g.active = slices.DeleteFunc(g.active, func(i int32) bool {
		sp := &b.tr.Spans[i]
		if !sp.untilExit {
			return false
		}
		if b.open[sp.ID] == i {
			delete(b.open, sp.ID)
		}
		b.end(g, i, t)
		return true
	})
}

// intern returns s, one copy per distinct name: a marker's fields are
// slices of its whole message.
func (b *builder) intern(s string) string {
	if v, ok := b.names[s]; ok {
		return v
	}
	s = strings.Clone(s)
	if len(b.names) < 1<<16 {
		b.names[s] = s
	}
	return s
}

func (b *builder) add(m *xtrace.Marker, id trace.GoID, begin int64) int32 {
	b.tr.Spans = append(b.tr.Spans, Span{
		Span: spans.Span{TraceID: spans.TraceID(m.TraceID), ID: spans.SpanID(m.SpanID), Parent: spans.SpanID(m.Parent),
			Name: b.intern(m.Name), Kind: b.intern(m.SpanKind)},
		Goroutine: int64(id), Begin: begin,
	})
	return int32(len(b.tr.Spans) - 1)
}

// end ends span i at t and copies the stretches of its goroutine g over
// [Begin, t], the current one included.
func (b *builder) end(g *gor, i int32, t int64) {
	sp := &b.tr.Spans[i]
	sp.Finish = max(t, sp.Begin)
	k := len(g.tl)
	for k > 0 && g.tl[k-1].end > sp.Begin {
		k--
	}
	var out []spans.Stretch
	for _, s := range g.tl[k:] {
		out = appendClipped(out, s, sp.Begin, sp.Finish)
	}
	if sp.Finish > g.since {
		st, label := b.classify(g)
		out = appendClipped(out, seg{start: g.since, end: sp.Finish, state: st, label: label}, sp.Begin, sp.Finish)
	}
	sp.stretches = out
}

func appendClipped(out []spans.Stretch, s seg, lo, hi int64) []spans.Stretch {
	s.start, s.end = max(s.start, lo), min(s.end, hi)
	if s.end <= s.start {
		return out
	}
	if n := len(out); n > 0 {
		// One stretch for one state, however the trace split it.
		if p := &out[n-1]; p.End == s.start && p.State == s.state && p.Label == s.label && p.ByGoroutine == 0 {
			p.End, p.ByGoroutine, p.BySpan = s.end, s.byG, s.bySpan
			return out
		}
	}
	return append(out, spans.Stretch{Start: s.start, End: s.end, State: s.state, Label: s.label, ByGoroutine: s.byG, BySpan: s.bySpan})
}

// finish ends the spans still open, moves the stretches spent while the
// world was stopped to gc, and names waits after the wait spans covering
// them.
func (b *builder) finish() *Trace {
	if b.stwAt >= 0 {
		b.stw = append(b.stw, [2]int64{b.stwAt, b.last})
	}
	for _, i := range b.open {
		b.warn.Open++
		sp := &b.tr.Spans[i]
		g := b.g[trace.GoID(sp.Goroutine)]
		if g == nil {
			g = &gor{since: b.last}
		}
		b.end(g, i, b.last)
		sp.Open = true
	}
	slices.SortFunc(b.stw, func(x, y [2]int64) int { return cmp.Compare(x[0], y[0]) })
	// Waits named by a tracekit wait span on the same goroutine, in the
	// order they ended: a goroutine waits for one thing at a time.
	named := map[int64][]int32{}
	for _, g := range b.g {
		for _, i := range g.done {
			named[b.tr.Spans[i].Goroutine] = append(named[b.tr.Spans[i].Goroutine], i)
		}
	}
	var off int64
	if b.tr.HasWall {
		off = b.tr.WallOffset
	}
	for i := range b.tr.Spans {
		sp := &b.tr.Spans[i]
		sp.stretches = b.stopped(sp.stretches)
		waits := named[sp.Goroutine]
		for k := range sp.stretches {
			s := &sp.stretches[k]
			if s.State == spans.StateLock || s.State == spans.StateChannel {
				s.State, s.Label = b.waitName(s, waits)
			}
			s.Start += off
			s.End += off
		}
		sp.Start, sp.End = sp.Begin+off, sp.Finish+off
	}
	b.tr.Warnings = b.warn
	b.tr.Events = b.events
	return &b.tr
}

// waitName returns the state and label of blocked stretch s (trace time),
// named after the wait span among waits (span indexes in the order they
// ended) that covers most of it: its start is its marker's time less the
// wait tracekit timed, about the stretch's.
func (b *builder) waitName(s *spans.Stretch, waits []int32) (spans.State, string) {
	k, _ := slices.BinarySearchFunc(waits, s.Start, func(w int32, t int64) int {
		return cmp.Compare(b.tr.Spans[w].Finish, t+1)
	})
	for ; k < len(waits) && b.tr.Spans[waits[k]].Begin < s.End; k++ {
		ws := &b.tr.Spans[waits[k]]
		if min(s.End, ws.Finish)-max(s.Start, ws.Begin) > (s.End-s.Start)/2 {
			return waitLabel(s.State, s.Label, ws.Kind, ws.Name)
		}
	}
	return s.State, s.Label
}

// waitLabel names a wait after the tracekit span that covers it: "lock:
// orders" for the span "lock.wait orders", "chan recv: jobs" for
// "chan.recv jobs"; a label of another kind of wait is kept. A tracekit
// lock waited for with a context that can be done blocks in a select on
// its wake channel: that is a lock wait too.
func waitLabel(st spans.State, label, kind, name string) (spans.State, string) {
	name = strings.TrimPrefix(name, kind+" ")
	switch {
	case kind == "lock.wait" && (strings.HasPrefix(label, "lock") || strings.HasPrefix(label, "select") || strings.HasPrefix(label, "chan recv")):
		return spans.StateLock, "lock: " + name
	case kind == "chan.recv" && (strings.HasPrefix(label, "chan recv") || strings.HasPrefix(label, "select")):
		return st, "chan recv: " + name
	case kind == "chan.send" && (strings.HasPrefix(label, "chan send") || strings.HasPrefix(label, "select")):
		return st, "chan send: " + name
	}
	return st, label
}

// stopped splits runnable stretches where the world was
// stopped, and counts those parts as gc: a goroutine still running then
// is running until it is stopped.
func (b *builder) stopped(in []spans.Stretch) []spans.Stretch {
	if len(b.stw) == 0 {
		return in
	}
	var out []spans.Stretch // nil until a stretch is split
	for k, s := range in {
		j, _ := slices.BinarySearchFunc(b.stw, s.Start, func(iv [2]int64, t int64) int { return cmp.Compare(iv[1], t) })
		if s.State != spans.StateRunnable || j == len(b.stw) || b.stw[j][0] >= s.End {
			if out != nil {
				out = append(out, s)
			}
			continue
		}
		if out == nil {
			out = append(make([]spans.Stretch, 0, len(in)+2), in[:k]...)
		}
		cur := s.Start
		for ; j < len(b.stw) && b.stw[j][0] < s.End; j++ {
			lo, hi := max(b.stw[j][0], cur), min(b.stw[j][1], s.End)
			if hi <= lo {
				continue
			}
			if lo > cur {
				p := s
				p.Start, p.End = cur, lo
				out = append(out, p)
			}
			p := s
			p.Start, p.End, p.State, p.Label, p.ByGoroutine, p.BySpan = lo, hi, spans.StateGC, "gc", 0, spans.SpanID{}
			out = append(out, p)
			cur = hi
		}
		if cur < s.End {
			p := s
			p.Start = cur
			out = append(out, p)
		}
	}
	if out == nil {
		return in
	}
	return out
}

// Set returns the marked spans as a span set, for a trace read without a
// span file.
func (tr *Trace) Set() *spans.Set {
	s := spans.NewSet()
	for i := range tr.Spans {
		s.Add(&tr.Spans[i].Span)
	}
	return s
}

// Join returns the runtime states of the spans of set that are marked in
// tr, keyed by span ID, each span's stretches moved into its own time base
// (the marker's begin lined up with the span's start) and clipped to its
// interval. With a nil set it joins tr's own spans ([Trace.Set]). matched
// counts the spans found. The result shares tr's memory: read it only.
func (tr *Trace) Join(set *spans.Set) (rt spans.Runtime, matched int) {
	rt = spans.Runtime{}
	byID := make(map[spans.SpanID]int32, len(tr.Spans))
	for i := range tr.Spans {
		if _, dup := byID[tr.Spans[i].ID]; !dup && !tr.Spans[i].ID.IsZero() {
			byID[tr.Spans[i].ID] = int32(i)
		}
	}
	put := func(sp *Span, start, end int64) {
		r := &spans.SpanRuntime{Goroutine: sp.Goroutine, Stretches: sp.stretches}
		if off := start - sp.Start; off != 0 || end < sp.End {
			r.Stretches = nil
			for _, s := range sp.stretches {
				s.Start, s.End = max(s.Start+off, start), min(s.End+off, end)
				if s.End > s.Start {
					r.Stretches = append(r.Stretches, s)
				}
			}
		}
		rt[sp.ID] = r
		matched++
	}
	if set == nil {
		for _, i := range byID {
			sp := &tr.Spans[i]
			put(sp, sp.Start, sp.End)
		}
		return rt, matched
	}
	var buf []spans.Span
	for k := range set.NumTraces() {
		buf = set.Spans(buf[:0], k)
		for j := range buf {
			if i, ok := byID[buf[j].ID]; ok {
				if _, done := rt[buf[j].ID]; !done {
					put(&tr.Spans[i], buf[j].Start, max(buf[j].End, buf[j].Start))
				}
			}
		}
	}
	return rt, matched
}
