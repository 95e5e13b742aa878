package errsum

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

type sink struct {
	mu   sync.Mutex
	errs []error
}

func (s *sink) handle(err error) {
	s.mu.Lock()
	s.errs = append(s.errs, err)
	s.mu.Unlock()
}

func (s *sink) got() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.errs...)
}

func TestFirstAtOnceThenOneSummary(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out sink
		s := New(out.handle, 5*time.Second, nil)
		defer s.Close()
		first := errors.New("export failed: connection refused")
		s.Handle(first)
		if got := out.got(); len(got) != 1 || got[0] != first {
			t.Fatalf("after the first error, reported %v; want it at once", got)
		}
		var last error
		for range 99 {
			time.Sleep(10 * time.Millisecond)
			last = errors.New("export failed: connection refused")
			s.Handle(last)
		}
		if got := out.got(); len(got) != 1 {
			t.Fatalf("within the interval, reported %d errors; want only the first", len(got))
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		got := out.got()
		if len(got) != 2 {
			t.Fatalf("after the interval, reported %d; want the first and one summary", len(got))
		}
		var sum *Summary
		if !errors.As(got[1], &sum) {
			t.Fatalf("second report %v is not a *Summary", got[1])
		}
		if sum.Count != 99 || sum.Period != 5*time.Second || !errors.Is(sum, last) {
			t.Errorf("summary = %d in %s (last %v); want 99 in 5s, last %v", sum.Count, sum.Period, sum.Last, last)
		}
		if want := "99 more errors like this in 5s: export failed"; !strings.HasPrefix(sum.Error(), want) {
			t.Errorf("summary text %q; want it to start %q", sum.Error(), want)
		}
	})
}

func TestQuietIntervalReportsNextAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out sink
		s := New(out.handle, time.Second, nil)
		defer s.Close()
		s.Handle(errors.New("disk full"))
		time.Sleep(time.Second) // the interval ends with nothing counted
		synctest.Wait()
		s.Handle(errors.New("disk full"))
		if got := out.got(); len(got) != 2 {
			t.Fatalf("reported %v; want both errors, the second at once after a quiet interval", got)
		}
		var sum *Summary
		for _, err := range out.got() {
			if errors.As(err, &sum) {
				t.Errorf("reported a summary %v for an interval with nothing counted", err)
			}
		}
	})
}

func TestKindsAreApart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out sink
		kind := func(err error) string { return strings.SplitN(err.Error(), ":", 2)[0] }
		s := New(out.handle, time.Second, kind)
		defer s.Close()
		s.Handle(errors.New("otlp: timeout"))
		s.Handle(errors.New("file: disk full"))
		s.Handle(errors.New("otlp: refused"))
		got := out.got()
		if len(got) != 2 || got[0].Error() != "otlp: timeout" || got[1].Error() != "file: disk full" {
			t.Fatalf("reported %v; want the first of each kind", got)
		}
	})
}

// A dead endpoint failing every batch for 20 seconds gives a handful of lines,
// however many batches fail.
func TestRateIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out sink
		const every = 5 * time.Second
		s := New(out.handle, every, nil)
		const n, span = 700, 20 * time.Second
		for range n {
			s.Handle(errors.New("export failed"))
			time.Sleep(span / n)
		}
		s.Close()
		got := out.got()
		if max := 1 + int(span/every) + 1; len(got) > max {
			t.Errorf("%d errors gave %d reports; want at most %d", n, len(got), max)
		}
		total := 0
		for _, err := range got {
			var sum *Summary
			if errors.As(err, &sum) {
				total += sum.Count
			} else {
				total++
			}
		}
		if total != n {
			t.Errorf("the reports account for %d errors; want all %d", total, n)
		}
	})
}

func TestCloseReportsWhatIsCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out sink
		s := New(out.handle, time.Minute, nil)
		s.Handle(errors.New("x"))
		s.Handle(errors.New("x"))
		s.Handle(errors.New("x"))
		time.Sleep(time.Second)
		s.Close()
		got := out.got()
		var sum *Summary
		if len(got) != 2 || !errors.As(got[1], &sum) || sum.Count != 2 || sum.Period != time.Second {
			t.Fatalf("after Close reported %v; want the first and a summary of 2 in 1s", got)
		}
		s.Handle(errors.New("x"))
		if got := out.got(); len(got) != 3 {
			t.Errorf("after Close an error was not passed straight on: %v", got)
		}
	})
}

func TestOutMayCallBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var s *Summarizer
		var out sink
		s = New(func(err error) {
			out.handle(err)
			if len(out.got()) == 1 {
				s.Handle(errors.New("from the handler"))
			}
		}, time.Second, nil)
		s.Handle(errors.New("first"))
		s.Close()
		if got := out.got(); len(got) != 2 {
			t.Errorf("reported %v; want the first and the handler's own", got)
		}
	})
}
