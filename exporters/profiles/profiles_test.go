package profiles

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/pprof/profile"
)

// cpuWork is about 300 ms of CPU: a fixed amount of work rather than of
// wall time, so that a loaded machine makes the test slower, not the
// profile thinner (the profiler samples CPU time).
const cpuWork = 300_000_000

// burnCPU does a chain of dependent multiplications. Samples taken while it
// runs name it in their stacks.
//
//go:noinline
func burnCPU(iterations int) uint64 {
	var x uint64 = 1
	for i := 0; i < iterations; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

func readProfile(t *testing.T, path string) *profile.Profile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return p
}

func stackHas(s *profile.Sample, fn string) bool {
	for _, loc := range s.Location {
		for _, l := range loc.Line {
			if l.Function != nil && strings.HasSuffix(l.Function.Name, fn) {
				return true
			}
		}
	}
	return false
}

// TestProfilerCPULabels runs a real CPU profile and checks that every sample
// taken in the labelled code carries the goroutine's labels, and that the
// heap snapshot is a valid profile too.
func TestProfilerCPULabels(t *testing.T) {
	dir := t.TempDir()
	p, err := Start(dir, WithWindow(time.Hour), WithTypes(CPU, Heap, Goroutine))
	if err != nil {
		t.Fatal(err)
	}
	labels := pprof.Labels("span_id", "00f067aa0ba902b7", "span_name", "burn", "trace_id", "4bf92f3577b34da6a3ce929d0e0e4736")
	pprof.Do(context.Background(), labels, func(context.Context) { burnCPU(cpuWork) })
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}

	files, err := Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[Type]string{}
	for _, f := range files {
		pf, ok := parseProfileFileName(filepath.Base(f))
		if !ok {
			t.Fatalf("ProfileFiles listed %s", f)
		}
		kinds[pf.kind] = f
	}
	for _, k := range []Type{CPU, Heap, Goroutine} {
		if kinds[k] == "" {
			t.Fatalf("no %s profile in %v", k, files)
		}
	}
	heap := readProfile(t, kinds[Heap])
	if len(heap.SampleType) == 0 || heap.SampleType[0].Type != "alloc_objects" {
		t.Errorf("heap sample types %v", heap.SampleType)
	}

	cpu := readProfile(t, kinds[CPU])
	var inBurn int64 // samples: a Sample's first value counts the hits on its stack
	for _, s := range cpu.Sample {
		if !stackHas(s, "profiles.burnCPU") {
			continue
		}
		inBurn += s.Value[0]
		for key, want := range map[string]string{"span_id": "00f067aa0ba902b7", "span_name": "burn", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"} {
			if got := s.Label[key]; len(got) != 1 || got[0] != want {
				t.Fatalf("sample in burnCPU has %s=%v, want %s", key, got, want)
			}
		}
	}
	if inBurn < 3 { // about 30
		t.Fatalf("%d CPU samples in burnCPU; want at least 3", inBurn)
	}
}

// TestProfilerWindows checks the schedule and the bounds with a fake clock:
// a snapshot per window, the oldest removed beyond the file bound, the last
// window written by Shutdown.
func TestProfilerWindows(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		p, err := Start(dir, WithWindow(10*time.Second), WithTypes(Heap), WithMaxFiles(3))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(65 * time.Second)
		synctest.Wait()
		if err := p.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		files, err := listProfileFiles(dir)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range files {
			got = append(got, f.time.Sub(start).String()+"/"+string(f.kind))
		}
		want := []string{"50s/heap", "1m0s/heap", "1m5s/heap"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("files left %v, want %v", got, want)
		}
	})
}

func TestProfilerPrune(t *testing.T) {
	t0 := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		sizes    []int // oldest first
		maxFiles int
		maxBytes int64
		keep     int // how many of the newest remain
	}{
		{"under both bounds", []int{10, 10, 10}, 5, 100, 3},
		{"too many files", []int{10, 10, 10, 10, 10}, 2, 1000, 2},
		{"too many bytes", []int{50, 50, 50, 50}, 10, 120, 2},
		{"newest alone too big is kept", []int{10, 500}, 10, 100, 1},
		{"both", []int{30, 30, 30, 30, 30}, 4, 70, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var names []string
			for i, n := range tt.sizes {
				name := profileFileName(CPU, t0.Add(time.Duration(i)*time.Second), i+1)
				names = append(names, name)
				if err := os.WriteFile(filepath.Join(dir, name), bytes.Repeat([]byte{'x'}, n), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			other := filepath.Join(dir, "traces.jsonl")
			if err := os.WriteFile(other, bytes.Repeat([]byte{'y'}, 10_000), 0o644); err != nil {
				t.Fatal(err)
			}
			p := &Profiler{dir: dir, cfg: newConfig([]Option{WithMaxFiles(tt.maxFiles), WithMaxBytes(tt.maxBytes)})}
			if err := p.prune(); err != nil {
				t.Fatal(err)
			}
			got, err := Files(dir)
			if err != nil {
				t.Fatal(err)
			}
			want := names[len(names)-tt.keep:]
			if len(got) != len(want) {
				t.Fatalf("kept %v, want %v", got, want)
			}
			for i := range want {
				if filepath.Base(got[i]) != want[i] {
					t.Fatalf("kept %v, want %v", got, want)
				}
			}
			if _, err := os.Stat(other); err != nil {
				t.Fatalf("a file that is not a profile was touched: %v", err)
			}
		})
	}
}

func TestParseProfileFileName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
		kind Type
		seq  int
	}{
		{"cpu-20260105T101500.000Z-000007.pb.gz", true, CPU, 7},
		{"goroutineleak-20260105T101500.123Z-1234567.pb.gz", true, GoroutineLeak, 1234567},
		{"heap-20260105T101500.000Z-000001.pb", false, "", 0},
		{"disk-20260105T101500.000Z-000001.pb.gz", false, "", 0},
		{"cpu-2026-01-05-000001.pb.gz", false, "", 0},
		{"cpu-20260105T101500.000Z-1.pb.gz", false, "", 0},
		{".cpu-20260105T101500.000Z-000001.pb.gz.tmp", false, "", 0},
		{"traces.jsonl", false, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ok := parseProfileFileName(tt.name)
			if ok != tt.ok || f.kind != tt.kind || f.seq != tt.seq {
				t.Fatalf("parse %q = %+v, %v; want kind %q seq %d ok %v", tt.name, f, ok, tt.kind, tt.seq, tt.ok)
			}
		})
	}
}

// FuzzParseProfileFileName checks that every name the parser accepts is one
// the Profiler could have written, so pruning never removes a foreign file.
func FuzzParseProfileFileName(f *testing.F) {
	f.Add("cpu-20260105T101500.000Z-000007.pb.gz")
	f.Add("heap-20000101T000000.000Z-000001.pb.gz")
	f.Add("traces.jsonl")
	f.Fuzz(func(t *testing.T, name string) {
		pf, ok := parseProfileFileName(name)
		if !ok {
			return
		}
		if again := profileFileName(pf.kind, pf.time, pf.seq); again != name {
			t.Fatalf("accepted %q, which the writer would name %q", name, again)
		}
	})
}

// TestProfilerCPUBusy checks that a CPU profile already running elsewhere in
// the process skips the window's CPU file, says so, and leaves the
// snapshots alone.
func TestProfilerCPUBusy(t *testing.T) {
	if err := pprof.StartCPUProfile(io.Discard); err != nil {
		t.Skipf("cannot start a CPU profile here: %v", err)
	}
	defer pprof.StopCPUProfile()
	dir := t.TempDir()
	var reported []error
	p, err := Start(dir, WithWindow(time.Hour), WithErrorHandler(func(err error) { reported = append(reported, err) }))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	files, err := listProfileFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].kind != Heap {
		t.Fatalf("files %v, want one heap snapshot", files)
	}
	if len(reported) != 1 || !strings.Contains(reported[0].Error(), "cpu window skipped") {
		t.Fatalf("reported %v, want the skipped CPU window", reported)
	}
}

// Zero or negative settings mean the defaults; a window under 100 ms is
// raised to it.
func TestConfigDefaults(t *testing.T) {
	c := newConfig([]Option{WithWindow(-1), WithMaxFiles(0), WithMaxBytes(-5)})
	if c.window != DefaultWindow || c.maxFiles != DefaultMaxFiles || c.maxBytes != DefaultMaxBytes {
		t.Errorf("config %+v, want the defaults", c)
	}
	if len(c.types) != 2 || c.types[0] != CPU || c.types[1] != Heap {
		t.Errorf("types %v, want cpu and heap", c.types)
	}
	if c := newConfig([]Option{WithWindow(time.Millisecond)}); c.window != 100*time.Millisecond {
		t.Errorf("window %v, want 100ms", c.window)
	}
}
