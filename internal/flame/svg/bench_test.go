package svg

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tracekit-go/tracekit/internal/flame"
	"github.com/tracekit-go/tracekit/internal/flame/internal/gen"
)

// benchTree decodes the generated 100,000-stack folded file (written to a
// temp dir, never to the repository).
func benchTree(b *testing.B) *flame.Tree {
	b.Helper()
	path := filepath.Join(b.TempDir(), "stacks.folded")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := gen.NewProgram(4000, 1).WriteFolded(f, 100_000); err != nil {
		b.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		b.Fatal(err)
	}
	t, err := flame.Decode(f, path)
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	return t
}

// BenchmarkWrite draws the 100,000-stack tree. The baseline is the folded
// writer over the same tree (a plain depth-first walk that prints every
// frame with self time); the SVG writer walks only the frames wider than
// --minwidth, so it should be cheaper.
func BenchmarkWrite(b *testing.B) {
	t := benchTree(b)
	b.Run("baseline-folded", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := flame.WriteFolded(io.Discard, t); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, o := range []struct {
		name  string
		order flame.Order
	}{{"svg-alphabetical", flame.Alphabetical}, {"svg-left-heavy", flame.LeftHeavy}} {
		b.Run(o.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := Write(io.Discard, t, WithOrder(o.order)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("top", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := WriteTop(io.Discard, t, 20, false); err != nil {
				b.Fatal(err)
			}
		}
	})
}
