// Package errsum reports a stream of errors at a bounded rate: the first of a
// kind at once, then at most one summary of that kind per interval.
//
// Exporters fail in bursts — a dead endpoint fails every batch, a full disk
// every write — and one log line per failure buries everything else. A
// Summarizer passes the first failure of each kind straight through, counts
// the ones that follow, and emits one [*Summary] per interval while they go
// on.
package errsum

import (
	"fmt"
	"sync"
	"time"
)

// Summary stands for errors of one kind that arrived within one interval
// after the first was reported. Unwrap gives the last of them.
type Summary struct {
	Count  int           // errors counted in the interval
	Period time.Duration // how long the counting went on
	Last   error         // the last error counted
}

func (s *Summary) Error() string {
	word := "errors"
	if s.Count == 1 {
		word = "error"
	}
	return fmt.Sprintf("%d more %s like this in %s: %v", s.Count, word, s.Period.Round(time.Millisecond), s.Last)
}

func (s *Summary) Unwrap() error { return s.Last }

// Summarizer passes errors on to a handler at a bounded rate. Its methods are
// safe for concurrent use.
type Summarizer struct {
	out   func(error)
	every time.Duration
	kind  func(error) string

	mu     sync.Mutex
	open   map[string]*window
	closed bool
}

type window struct {
	count int
	last  error
	since time.Time // when the current interval began
	timer *time.Timer
}

// New returns a Summarizer that passes errors on to out, reporting each kind
// at most once per every (at least once a millisecond). kind names an error's
// kind; nil makes the error's text its kind.
func New(out func(error), every time.Duration, kind func(error) string) *Summarizer {
	if every < time.Millisecond {
		every = time.Millisecond
	}
	if kind == nil {
		kind = func(err error) string { return err.Error() }
	}
	return &Summarizer{out: out, every: every, kind: kind, open: make(map[string]*window)}
}

// Handle reports err now if it is the first of its kind within an interval,
// and otherwise counts it towards that interval's summary. It never blocks on
// out while holding its lock, so out may call back into the Summarizer.
func (s *Summarizer) Handle(err error) {
	if err == nil {
		return
	}
	k := s.kind(err)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.out(err)
		return
	}
	if w, ok := s.open[k]; ok {
		w.count++
		w.last = err
		s.mu.Unlock()
		return
	}
	w := &window{since: time.Now()}
	s.open[k] = w
	w.timer = time.AfterFunc(s.every, func() { s.tick(k, w) })
	s.mu.Unlock()
	s.out(err)
}

// tick ends an interval: it reports the errors counted in it, if any, and
// keeps the kind quiet for one more interval; an interval with none closes
// the kind, so that its next error is reported at once.
func (s *Summarizer) tick(k string, w *window) {
	s.mu.Lock()
	if s.open[k] != w {
		s.mu.Unlock()
		return
	}
	if w.count == 0 {
		delete(s.open, k)
		s.mu.Unlock()
		return
	}
	now := time.Now()
	sum := &Summary{Count: w.count, Period: now.Sub(w.since), Last: w.last}
	w.count, w.last, w.since = 0, nil, now
	w.timer.Reset(s.every)
	s.mu.Unlock()
	s.out(sum)
}

// Close reports every count not yet reported and stops the timers; errors
// handled after Close are passed on as they come.
func (s *Summarizer) Close() {
	s.mu.Lock()
	var sums []error
	for k, w := range s.open {
		w.timer.Stop()
		if w.count > 0 {
			sums = append(sums, &Summary{Count: w.count, Period: time.Since(w.since), Last: w.last})
		}
		delete(s.open, k)
	}
	s.closed = true
	s.mu.Unlock()
	for _, err := range sums {
		s.out(err)
	}
}
