package goid

import (
	"runtime"
	"sync"
	"testing"
)

func TestIDMatchesStack(t *testing.T) {
	if got, want := ID(), Slow(); got != want {
		t.Fatalf("ID() = %d, the stack trace says %d", got, want)
	}
	var wg sync.WaitGroup
	ids := make([]uint64, 8)
	for i := range ids {
		wg.Go(func() {
			if got, want := ID(), Slow(); got != want {
				t.Errorf("goroutine %d: ID() = %d, the stack trace says %d", i, got, want)
			}
			ids[i] = ID()
		})
	}
	wg.Wait()
	seen := map[uint64]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Errorf("ID %d given to two live goroutines", id)
		}
		seen[id] = true
	}
}

func TestOffsetFoundWhereAssemblyReads(t *testing.T) {
	if !Fast {
		if FastID() || Offset() != 0 || Current() != 0 {
			t.Fatal("an offset without the assembly reader")
		}
		if _, id := KeyID(); id != 0 {
			t.Fatal("KeyID gave an ID without the assembly reader")
		}
		return
	}
	off := Offset()
	if off == 0 {
		t.Fatal("no goroutine ID offset found in the runtime descriptor")
	}
	if got := Current(); got != Slow() {
		t.Errorf("Current() = %d after Offset(), the stack trace says %d", got, Slow())
	}
	if got := Word(off); got != Slow() {
		t.Errorf("Word(%d) = %d, the stack trace says %d", off, got, Slow())
	}
	if k, id := KeyID(); k != Key() || id != Slow() {
		t.Errorf("KeyID() = %#x, %d; Key() is %#x, the stack trace says %d", k, id, Key(), Slow())
	}
	key := make(chan uintptr)
	release := make(chan struct{})
	go func() {
		key <- Key()
		<-release
	}()
	k := <-key
	if k == Key() {
		t.Error("two running goroutines share a key")
	}
	close(release)
}

func TestWordAtReadsAnotherGoroutine(t *testing.T) {
	if !Fast || Offset() == 0 {
		t.Skip("no assembly reader on this platform")
	}
	type g struct {
		key uintptr
		id  uint64
	}
	got := make(chan g)
	release := make(chan struct{})
	go func() {
		got <- g{Key(), Slow()}
		<-release
	}()
	other := <-got
	defer close(release)
	if id := WordAt(other.key, Offset()); id != other.id {
		t.Errorf("WordAt(other goroutine) = %d, want %d", id, other.id)
	}
}

func TestLoadWord(t *testing.T) {
	w := uintptr(42)
	if got := LoadWord(&w); got != 42 {
		t.Errorf("LoadWord = %d, want 42", got)
	}
}

// BenchmarkID is the cost of the goroutine ID that lineage records keep.
func BenchmarkID(b *testing.B) {
	for b.Loop() {
		_ = ID()
	}
}

// siteOf returns CallerPC's answer in a function that, like a lock's
// method, has a frame and is not inlined.
//
//go:noinline
func siteOf(n *int) uintptr {
	*n++
	pc := CallerPC()
	*n++
	return pc
}

func TestCallerPC(t *testing.T) {
	n := 0
	_, _, line, _ := runtime.Caller(0)
	pc := siteOf(&n) // the call CallerPC names
	if !Fast {
		if pc != 0 {
			t.Fatalf("CallerPC() = %#x without the assembly reader", pc)
		}
		return
	}
	f, _ := runtime.CallersFrames([]uintptr{pc}).Next()
	if f.Function != "github.com/tracekit-go/tracekit/internal/goid.TestCallerPC" || f.Line != line+1 {
		t.Errorf("CallerPC() in siteOf names %s:%d, want TestCallerPC at line %d", f.Function, f.Line, line+1)
	}
}
