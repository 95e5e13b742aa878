package flame

import (
	"bufio"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/tracekit-go/tracekit/internal/flame/internal/gen"
)

var benchBig = flag.Bool("flamegen.big", false, "also run the 1,000,000-stack benchmark (writes a 1.4 GB temp file)")

var benchOnce sync.Map // stacks -> *benchFile

type benchFile struct {
	once sync.Once
	path string
	size int64
	err  error
}

// benchInput writes the generated folded file of n distinct stacks once per
// process into a temp dir (never into the repository) and returns its path.
func benchInput(b *testing.B, n int) (string, int64) {
	b.Helper()
	v, _ := benchOnce.LoadOrStore(n, &benchFile{})
	bf := v.(*benchFile)
	bf.once.Do(func() {
		dir, err := os.MkdirTemp("", "flamegen-bench-")
		if err != nil {
			bf.err = err
			return
		}
		bf.path = filepath.Join(dir, "stacks.folded")
		f, err := os.Create(bf.path)
		if err != nil {
			bf.err = err
			return
		}
		bf.size, bf.err = gen.NewProgram(4000, 1).WriteFolded(f, n)
		if err := f.Close(); bf.err == nil {
			bf.err = err
		}
	})
	if bf.err != nil {
		b.Fatal(bf.err)
	}
	return bf.path, bf.size
}

func TestMain(m *testing.M) {
	code := m.Run()
	benchOnce.Range(func(_, v any) bool {
		if bf := v.(*benchFile); bf.path != "" {
			os.RemoveAll(filepath.Dir(bf.path))
		}
		return true
	})
	os.Exit(code)
}

// BenchmarkDecode measures decoding the generated folded files: 100,000
// distinct stacks 10-60 frames deep with Go-style names (about 140 MB), in
// random order. The baseline reads the same file line by line and does
// nothing else, the floor any parser sits on; compare the two with
// benchstat. The tree-MB metric is the heap in use after decoding, with the
// tree alive. The 1,000,000-stack case (about 1.4 GB) runs with
//
//	go test -run '^$' -bench Decode -benchtime 1x ./internal/flame/ -args -flamegen.big
func BenchmarkDecode(b *testing.B) {
	sizes := []int{100_000}
	if *benchBig {
		sizes = append(sizes, 1_000_000)
	}
	for _, n := range sizes {
		path, size := benchInput(b, n)
		name := map[int]string{100_000: "100k", 1_000_000: "1M"}[n]
		b.Run(name+"/baseline-read-lines", func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				br := bufio.NewReaderSize(f, 1<<20)
				lines := 0
				for {
					_, err := br.ReadSlice('\n')
					if err == bufio.ErrBufferFull {
						continue
					}
					if err != nil {
						break
					}
					lines++
				}
				f.Close()
				if lines != n {
					b.Fatalf("%d lines, want %d", lines, n)
				}
			}
		})
		b.Run(name+"/decode", func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			var t *Tree
			for b.Loop() {
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				t, err = Decode(f, path)
				f.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "tree-MB")
			b.ReportMetric(float64(t.Len()), "frames")
			runtime.KeepAlive(t)
		})
	}
}
