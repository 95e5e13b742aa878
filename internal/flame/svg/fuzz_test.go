package svg

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracekit-go/tracekit/internal/flame"
)

// FuzzWrite draws arbitrary folded input: whatever the frame names hold,
// the SVG is well-formed XML, the frames are drawn as elements with titles
// (the root first), the script's data carries every drawn name as text,
// and the only CDATA end is the script's own.
func FuzzWrite(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "*.folded"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		tr := flame.NewTree("samples")
		if err := flame.ParseFolded(bytes.NewReader(in), "fuzz", tr, flame.WithMaxLineBytes(1<<16)); err != nil {
			return
		}
		var b bytes.Buffer
		if err := Write(&b, tr, WithTitle(string(in[:min(len(in), 40)]))); err != nil {
			t.Fatal(err)
		}
		out := b.Bytes()
		wellFormed(t, out)
		if n := bytes.Count(out, []byte("]]>")); n != 1 {
			t.Fatalf("%d CDATA ends", n)
		}
		d := embedded(t, out)
		if len(d.F)%stride != 0 || (tr.Total() > 0 && len(d.F) == 0) {
			t.Fatalf("frame table of %d numbers for total %d", len(d.F), tr.Total())
		}
		drawn := drawnFrames(t, out)
		if len(drawn) > len(d.F)/stride || (len(d.F) > 0 && !strings.HasPrefix(drawn[0].Title, "all (")) {
			t.Fatalf("%d frames drawn of %d, the first %+v", len(drawn), len(d.F)/stride, drawn)
		}
		for i := 0; i < len(d.F); i += stride {
			if d.F[i] < 0 || int(d.F[i]) >= len(d.Names) || d.F[i+4] < 0 {
				t.Fatalf("frame %d refers outside the tables", i/stride)
			}
			col := 0
			if tr.IsDiff() {
				col = d.FC[i/stride]
			} else {
				col = d.NC[d.F[i]]
			}
			if col >= len(d.Colors) {
				t.Fatalf("frame %d refers outside the tables", i/7)
			}
		}
	})
}
