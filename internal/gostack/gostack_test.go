package gostack

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tracekit-go/tracekit/internal/testwait"
)

const sample = `goroutine 1 [running]:
main.main()
	/src/app/main.go:10 +0x1d

goroutine 18 [chan receive, 3 minutes, locked to thread]:
main.worker(0xc000012345, {0x4a5f40?, 0xc0000a0000?})
	/src/app/worker.go:12 +0x25
main.(*Pool).run.func1(...)
	/src/app/pool.go:40
created by main.(*Pool).Start in goroutine 1
	/src/app/pool.go:39 +0x39

goroutine 19 gp=0xc000003340 m=nil [select (leaked)]:
main.wait[...](0x1)
	/src/app/wait.go:7 +0x55
...additional frames elided...
created by main.main in goroutine 1
	/src/app/main.go:9 +0x66
`

func TestParse(t *testing.T) {
	gs, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 3 {
		t.Fatalf("parsed %d goroutines, want 3", len(gs))
	}
	g := gs[1]
	if g.ID != 18 || g.State != "chan receive" || g.Waiting != 3*time.Minute || !g.LockedToThread || g.Leaked {
		t.Errorf("goroutine 18 header = %+v", g)
	}
	want := []Frame{
		{Func: "main.worker", File: "/src/app/worker.go", Line: 12, Args: "0xc000012345, {0x4a5f40?, 0xc0000a0000?}"},
		{Func: "main.(*Pool).run.func1", File: "/src/app/pool.go", Line: 40, Args: "..."},
	}
	if len(g.Frames) != 2 || g.Frames[0] != want[0] || g.Frames[1] != want[1] {
		t.Errorf("frames = %+v, want %+v", g.Frames, want)
	}
	if g.CreatedBy != (Frame{Func: "main.(*Pool).Start", File: "/src/app/pool.go", Line: 39}) || g.CreatorID != 1 {
		t.Errorf("created by = %+v in %d", g.CreatedBy, g.CreatorID)
	}
	l := gs[2]
	if !l.Leaked || l.State != "select" || !l.Elided || l.Top().Func != "main.wait[...]" || l.Top().Args != "0x1" {
		t.Errorf("goroutine 19 = %+v", l)
	}
	if !gs[0].HasFunc("main.main") || gs[0].CreatedBy.Func != "" || gs[0].Top().Args != "" {
		t.Errorf("goroutine 1 = %+v", gs[0])
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ dump, want string }{
		{"goroutine x [running]:\n", "line 1"},
		{"goroutine 5 running:\n", "[state]"},
		{"goroutine 5 [running]:\nmain.main()\nmain.other()\n", "line 3"},
		{"goroutine 5 [running]:\nmain.main()", "last function"},
		{"goroutine 5 [running]:\nmain.main()\n", "line 3"},
		{"goroutine 5 [running]:\n\t/x.go:1\n", "not a file:line without one"},
	} {
		_, err := Parse([]byte(tc.dump))
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want a SyntaxError mentioning %q", tc.dump, err, tc.want)
		}
	}
}

// TestSnapshotOfRealGoroutines parses the runtime's own dump with goroutines
// blocked in known places.
func TestSnapshotOfRealGoroutines(t *testing.T) {
	block := make(chan struct{})
	var mu sync.Mutex
	mu.Lock()
	var ready sync.WaitGroup
	for range 3 {
		ready.Add(1)
		go func() { ready.Done(); <-block }()
	}
	ready.Add(1)
	go func() { ready.Done(); mu.Lock(); mu.Unlock() }()
	ready.Wait()
	defer func() { close(block); mu.Unlock() }()
	// Until they have parked: three on the channel, one on the mutex.
	var gs []Goroutine
	testwait.For(time.Minute, func() bool {
		var err error
		if gs, err = Snapshot(); err != nil {
			t.Fatal(err)
		}
		states := map[string]int{}
		for _, g := range gs {
			if g.HasFunc("github.com/tracekit-go/tracekit/internal/gostack.TestSnapshotOfRealGoroutines.func1") ||
				g.HasFunc("github.com/tracekit-go/tracekit/internal/gostack.TestSnapshotOfRealGoroutines.func2") {
				states[g.State]++
			}
		}
		return states["chan receive"] == 3 && states["sync.Mutex.Lock"] == 1
	})
	self := Current()
	var sawSelf bool
	for _, g := range gs {
		if g.ID == self {
			sawSelf = true
			if !g.HasFunc("github.com/tracekit-go/tracekit/internal/gostack.TestSnapshotOfRealGoroutines") {
				t.Errorf("own goroutine %d lacks this test's frame: %+v", self, g.Frames)
			}
		}
	}
	if !sawSelf {
		t.Errorf("Current() = %d is not in the snapshot", self)
	}
	var chanGroup, mutexGroup *Group
	groups := GroupByStack(gs)
	for i := range groups {
		gr := &groups[i]
		if gr.States["chan receive"] == 3 {
			chanGroup = gr
		}
		if gr.States["sync.Mutex.Lock"] == 1 {
			mutexGroup = gr
		}
	}
	if chanGroup == nil || len(chanGroup.Goroutines) != 3 {
		t.Fatalf("no group of the 3 goroutines blocked on the channel")
	}
	if mutexGroup == nil {
		t.Errorf("no group for the goroutine blocked in sync.Mutex.Lock")
	}
	var buf bytes.Buffer
	if err := Write(&buf, groups); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "3 goroutine(s) [chan receive ×3]") || !strings.Contains(buf.String(), "gostack_test.go:") {
		t.Errorf("grouped dump lacks the channel group:\n%s", buf.String())
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add(Dump())
	// The header of a goroutine in a testing/synctest bubble, as
	// TestParseSynctestBubble sees it.
	f.Add([]byte("goroutine 7 [chan receive (durable), synctest bubble 3]:\nmain.f()\n\t/src/f.go:3 +0x1\ncreated by main.g in goroutine 6\n\t/src/f.go:9 +0x2\n"))
	f.Fuzz(func(t *testing.T, dump []byte) {
		gs, err := Parse(dump)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Line < 1 {
				t.Fatalf("error %v is not a SyntaxError with a line", err)
			}
			return
		}
		groups := GroupByStack(gs)
		n := 0
		for _, gr := range groups {
			n += len(gr.Goroutines)
		}
		if n != len(gs) {
			t.Fatalf("groups hold %d goroutines, parsed %d", n, len(gs))
		}
		_ = Write(&bytes.Buffer{}, groups)
	})
}

// A goroutine blocked in a testing/synctest bubble: the runtime prints
// "[chan receive (durable), synctest bubble N]".
func TestParseSynctestBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ch := make(chan int)
		go func() { <-ch }()
		synctest.Wait()
		gs, err := Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		self := Current()
		var bubble uint64
		var blocked *Goroutine
		for i := range gs {
			switch {
			case gs[i].ID == self:
				bubble = gs[i].Bubble
			case gs[i].CreatorID == self:
				blocked = &gs[i]
			}
		}
		if bubble == 0 || blocked == nil {
			t.Fatalf("bubble %d, blocked goroutine %+v", bubble, blocked)
		}
		if blocked.Bubble != bubble || !blocked.Durable || blocked.State != "chan receive" {
			t.Errorf("blocked goroutine: bubble %d durable %v state %q, want bubble %d, durable, chan receive",
				blocked.Bubble, blocked.Durable, blocked.State, bubble)
		}
		close(ch)
	})
}

// GODEBUG=tracebackancestors=N prints, after a goroutine's own stack, the
// stack each ancestor had at its go statement (a dump from a real run).
const ancestorsDump = `goroutine 1 [running]:
main.main()
	/tmp/anc/main.go:20 +0xd0

goroutine 8 [chan receive]:
main.leaf(...)
	/tmp/anc/main.go:9
created by main.helper in goroutine 7
	/tmp/anc/main.go:11 +0x4f
[originating from goroutine 7]:
main.helper(...)
	/tmp/anc/main.go:11 +0x4f
main.main.func1(...)
	/tmp/anc/main.go:16 +0x25
created by main.main
	/tmp/anc/main.go:16 +0x8b
[originating from goroutine 1]:
main.main(...)
	/tmp/anc/main.go:17 +0x8b
`

func TestParseAncestors(t *testing.T) {
	gs, err := Parse([]byte(ancestorsDump))
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 2 {
		t.Fatalf("%d goroutines, want 2", len(gs))
	}
	g := gs[1]
	if len(g.Frames) != 1 || g.Frames[0].Func != "main.leaf" || g.CreatedBy.Func != "main.helper" || g.CreatedBy.Line != 11 || g.CreatorID != 7 {
		t.Errorf("own stack: frames %+v, created by %+v in %d", g.Frames, g.CreatedBy, g.CreatorID)
	}
	if len(g.Ancestors) != 2 {
		t.Fatalf("ancestors = %+v, want 7 and 1", g.Ancestors)
	}
	a := g.Ancestors[0]
	if a.ID != 7 || len(a.Frames) != 2 || a.Frames[1].Func != "main.main.func1" || a.Frames[1].Line != 16 ||
		a.CreatedBy.Func != "main.main" || a.CreatedBy.File != "/tmp/anc/main.go" {
		t.Errorf("ancestor 7 = %+v", a)
	}
	if a := g.Ancestors[1]; a.ID != 1 || len(a.Frames) != 1 || a.Frames[0].Func != "main.main" || a.CreatedBy.Func != "" {
		t.Errorf("ancestor 1 = %+v", a)
	}
	if len(gs[0].Ancestors) != 0 {
		t.Errorf("main has ancestors %+v", gs[0].Ancestors)
	}
	if _, err := Parse([]byte("goroutine 8 [chan receive]:\nmain.leaf()\n\t/a.go:9\n[originating from goroutine x]:\n")); err == nil {
		t.Error("a malformed ancestor header parsed")
	}
}
