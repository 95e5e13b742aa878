package detect

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// BenchmarkMemorySample is one tick of the memory watch beside
// runtime.ReadMemStats, the usual way to read memory (it stops the world).
func BenchmarkMemorySample(b *testing.B) {
	b.Run("ReadMemStats", func(b *testing.B) {
		var m runtime.MemStats
		b.ReportAllocs()
		for b.Loop() {
			runtime.ReadMemStats(&m)
		}
	})
	b.Run("sample", func(b *testing.B) {
		sample := runtimeSampler()
		b.ReportAllocs()
		for b.Loop() {
			_ = sample()
		}
	})
	watch := func(b *testing.B, setup func(*MemWatch)) {
		det, _ := testDetector(Config{})
		defer det.Close()
		w := &MemWatch{cfg: testMemConfig, sample: runtimeSampler(), det: det}
		setup(w)
		b.ReportAllocs()
		for b.Loop() {
			w.check(w.sample())
		}
		if w.overLimit {
			b.Fatal("the limit was reached: the benchmark measured a report")
		}
	}
	b.Run("check/GOMEMLIMIT", func(b *testing.B) {
		watch(b, func(w *MemWatch) {
			sample := w.sample
			w.sample = func() memSample {
				s := sample()
				s.goLimit = 1 << 40
				return s
			}
		})
	})
	b.Run("check/cgroup", func(b *testing.B) {
		// The usual container: the process's cgroup has no limit of its
		// own ("max"), its parent has one.
		dir := b.TempDir()
		for f, v := range map[string]string{"sys/fs/cgroup/pod/c1/memory.max": "max\n", "sys/fs/cgroup/pod/memory.max": "1099511627776\n"} {
			if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, f), []byte(v), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		watch(b, func(w *MemWatch) {
			w.cgroupFS = os.DirFS(dir)
			w.cgroupFiles = []string{"sys/fs/cgroup/pod/c1/memory.max", "sys/fs/cgroup/pod/memory.max", "sys/fs/cgroup/memory.max"}
		})
	})
}
