package flame

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func seedTestdata(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.*"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(gz(b))
	}
}

// checkTree verifies the invariants every decoded tree keeps.
func checkTree(t *testing.T, tr *Tree) {
	var sum int64
	for n := NodeID(1); int(n) < tr.Len(); n++ {
		if tr.Self(n) < 0 {
			t.Fatalf("frame %q has negative self %d", tr.Name(n), tr.Self(n))
		}
		if tr.Parent(n) == Root {
			sum += tr.Value(n)
		}
	}
	if sum > tr.Total() {
		t.Fatalf("children %d exceed total %d", sum, tr.Total())
	}
}

// FuzzDecode feeds arbitrary bytes through content detection and every
// decoder: the result is a tree or a *ParseError, never a panic.
func FuzzDecode(f *testing.F) {
	seedTestdata(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		tr, err := Decode(bytes.NewReader(in), "fuzz")
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error is not a *ParseError: %v", err)
			}
			return
		}
		checkTree(t, tr)
	})
}

// FuzzParseFolded checks the folded parser against a second reading of the
// same input: parsing the tree's own folded form gives the same tree.
func FuzzParseFolded(f *testing.F) {
	seedTestdata(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		tr := NewTree("samples")
		err := ParseFolded(bytes.NewReader(in), "fuzz", tr, WithMaxLineBytes(1<<16))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error is not a *ParseError: %v", err)
			}
			return
		}
		checkTree(t, tr)
		if tr.IsDiff() {
			return
		}
		again := NewTree("samples")
		out := folded(tr)
		if out == "" {
			return
		}
		if err := ParseFolded(bytes.NewReader([]byte(out)), "again", again); err != nil {
			// Frames ending in " <digits>" read back as diff lines, and
			// names with newlines cannot round-trip; both are the folded
			// format's own limits.
			return
		}
		if got := folded(again); got != out && !again.IsDiff() {
			t.Fatalf("round trip changed the tree:\n%q\n%q", out, got)
		}
	})
}
