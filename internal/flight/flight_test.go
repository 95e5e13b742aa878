package flight

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	rtrace "runtime/trace"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/exp/trace"

	"github.com/tracekit-go/tracekit/internal/testwait"
)

// logs reads the runtime/trace.Log messages of category in the trace file
// at path with the Go team's parser; a file that does not parse fails t.
func logs(t *testing.T, path, category string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := trace.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []string
	for {
		ev, err := rd.ReadEvent()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if ev.Kind() == trace.EventLog && ev.Log().Category == category {
			out = append(out, ev.Log().Message)
		}
	}
}

// exists waits for path to appear, whole: the name appears only after the
// file is complete.
func exists(t *testing.T, path string) {
	t.Helper()
	if !testwait.For(time.Minute, func() bool { _, err := os.Stat(path); return err == nil }) {
		t.Fatalf("%s not written", path)
	}
}

func start(t *testing.T, cfg Config) *Recorder {
	t.Helper()
	r, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func TestSnapshotHoldsTheMomentAsked(t *testing.T) {
	dir := t.TempDir()
	r := start(t, Config{Dir: dir, Interval: time.Hour})
	rtrace.Log(context.Background(), "flight-test", "before-first")
	first, ok := r.Snapshot("slow span")
	if !ok || !strings.HasSuffix(first, "-slow-span.trace") || filepath.Dir(first) != dir {
		t.Fatalf("Snapshot = %q, %v; want a file in %s named for its reason", first, ok, dir)
	}
	exists(t, first)
	// Within the cool-down: both requests share the next snapshot, taken
	// when the cool-down ends (here: at Close).
	rtrace.Log(context.Background(), "flight-test", "in-cool-down")
	second, _ := r.Snapshot("hang")
	third, _ := r.Snapshot("report")
	if second != third || second == first {
		t.Fatalf("requests in the cool-down got %q and %q (first %q); want one new file shared", second, third, first)
	}
	if _, err := os.Stat(second); err == nil {
		t.Fatalf("%s written during the cool-down", second)
	}
	r.Close()
	if got := logs(t, first, "flight-test"); len(got) != 1 || got[0] != "before-first" {
		t.Errorf("first snapshot holds %q; want the log before it", got)
	}
	got := logs(t, second, "flight-test")
	if len(got) == 0 || got[len(got)-1] != "in-cool-down" {
		t.Errorf("second snapshot holds %q; want the log made in the cool-down", got)
	}
	if files := r.Files(); len(files) != 2 || files[0] != first || files[1] != second {
		t.Errorf("Files = %q; want both, oldest first", files)
	}
	if _, ok := r.Snapshot("late"); ok {
		t.Error("a closed recorder took a snapshot")
	}
	partial, _ := filepath.Glob(filepath.Join(dir, "*.partial"))
	if len(partial) > 0 {
		t.Errorf("left behind %q", partial)
	}
}

func TestCoolDownEndsOnItsOwn(t *testing.T) {
	dir := t.TempDir()
	r := start(t, Config{Dir: dir, Interval: 50 * time.Millisecond})
	first, _ := r.Snapshot("a")
	exists(t, first)
	second, _ := r.Snapshot("b")
	exists(t, second) // at the cool-down's end, without Close
	if first == second {
		t.Fatal("a request after a snapshot got the same file")
	}
}

func TestKeepsAtMostMaxFiles(t *testing.T) {
	dir := t.TempDir()
	r := start(t, Config{Dir: dir, Interval: time.Millisecond, MaxFiles: 2})
	var made []string
	for i := range 5 {
		p, _ := r.Snapshot("n")
		exists(t, p)
		made = append(made, p)
		// The next request must not share this one's file.
		if !testwait.For(time.Minute, func() bool { q := r.pendingPath(); return q == "" }) {
			t.Fatalf("snapshot %d still pending", i)
		}
	}
	if !testwait.For(time.Minute, func() bool { return len(r.Files()) == 2 }) {
		t.Fatalf("kept %q; want the last two", r.Files())
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*.trace"))
	want := map[string]bool{made[3]: true, made[4]: true}
	if len(names) != 2 || !want[names[0]] || !want[names[1]] {
		t.Errorf("on disk %q; want the last two of %q", names, made)
	}
}

func TestKeepsAtMostMaxBytes(t *testing.T) {
	dir := t.TempDir()
	r := start(t, Config{Dir: dir, Interval: time.Millisecond, MaxBytes: 1})
	for range 3 {
		p, _ := r.Snapshot("n")
		exists(t, p)
		if !testwait.For(time.Minute, func() bool { return r.pendingPath() == "" }) {
			t.Fatal("snapshot still pending")
		}
	}
	// Every snapshot is over the budget; the newest is kept all the same.
	if !testwait.For(time.Minute, func() bool { return len(r.Files()) == 1 }) {
		t.Fatalf("kept %q; want only the newest", r.Files())
	}
}

func TestFailedWriteLeavesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gone")
	var mu sync.Mutex
	var errs []error
	r := start(t, Config{Dir: dir, OnError: func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }})
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	p, _ := r.Snapshot("x")
	r.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(errs) != 1 || !errors.Is(errs[0], os.ErrNotExist) {
		t.Errorf("errors %v; want one saying the directory is gone", errs)
	}
	if _, err := os.Stat(p); err == nil {
		t.Errorf("%s exists after a failed write", p)
	}
	if len(r.Files()) != 0 {
		t.Errorf("Files = %q after a failed write", r.Files())
	}
}

func TestOneRecorderAtATime(t *testing.T) {
	start(t, Config{Dir: t.TempDir()})
	if r, err := Start(Config{Dir: t.TempDir()}); err == nil {
		r.Close()
		t.Fatal("a second flight recorder started")
	}
	if _, err := Start(Config{}); err == nil {
		t.Fatal("a recorder without a directory started")
	}
}

// pendingPath is the snapshot scheduled for the end of the cool-down, or "".
func (r *Recorder) pendingPath() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pending
}
