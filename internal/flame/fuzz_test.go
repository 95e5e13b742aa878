package flame

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func seedTestdata(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.*"))
	corpus, _ := filepath.Glob(filepath.Join("testdata", "corpus", "*"))
	for _, name := range append(files, corpus...) {
		if filepath.Base(name) == "PROVENANCE" {
			continue
		}
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
		var w bytes.Buffer
		if err := WriteFolded(&w, tr); err != nil {
			t.Fatal(err)
		}
		if err := ParseFolded(&w, "again", again); err != nil {
			t.Fatalf("own output does not parse: %v\n%q", err, w.String())
		}
		if got, want := dump(again), dump(tr); got != want {
			t.Fatalf("round trip changed the tree:\n%s\nwant\n%s", got, want)
		}
	})
}

// dump lists every frame with a value: its path of names and annotations,
// and its value and baseline in the input's units (a tree's scale is the
// finest precision its input used, which writing may not repeat).
func dump(t *Tree) string {
	var b strings.Builder
	fmt.Fprintf(&b, "diff %v\n", t.IsDiff())
	dec := 0
	for pow10(dec) < t.Scale() {
		dec++
	}
	num := func(v int64) string {
		s := string(appendCount(nil, v, dec))
		if dec > 0 {
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		}
		return s
	}
	var path []string
	t.Walk(Alphabetical, func(n NodeID, depth int) bool {
		if t.Value(n) == 0 && t.Base(n) == 0 {
			return false
		}
		path = append(path[:depth], fmt.Sprintf("%q%s", t.Name(n), t.Annotation(n).Suffix()))
		fmt.Fprintf(&b, "%s %s %s\n", strings.Join(path, ";"), num(t.Value(n)), num(t.Base(n)))
		return true
	})
	return b.String()
}

// FuzzWriteFolded checks that WriteFolded's output reads back to the same
// tree whatever the frame names hold: ';', newlines, control bytes, '%',
// '#', what looks like a count or an annotation, empty names. The input
// makes a tree: stacks separated by 0xff, frames by 0xfe, a frame's first
// byte picking its annotation, and the stack's index its value; a trailing
// byte scales the values by a power of ten, as fractional counts do.
func FuzzWriteFolded(f *testing.F) {
	f.Add([]byte("\x00main\xfe\x00go.shape.struct { a int; b int }\xff\x01read\xfe\x00x 12\xff\x02"))
	f.Add([]byte("\x00#root\xfe\x00\xff\x00a%41\xfe\x00b_[k]\xfe\x03c\nd\x00"))
	f.Add([]byte("\x04\xef\xbb\xbfbom\xfe\x00\t3.5\xff\x00;;\xfe\x00 \x01"))
	f.Fuzz(func(t *testing.T, in []byte) {
		tr := NewTree("samples")
		scale := 0
		if len(in) > 0 && in[len(in)-1] < 4 {
			scale = int(in[len(in)-1])
			in = in[:len(in)-1]
		}
		for i, stack := range bytes.Split(in, []byte{0xff}) {
			n := Root
			frames := bytes.Split(stack, []byte{0xfe})
			if len(frames) > 64 {
				return
			}
			for _, fr := range frames {
				a := NoAnnotation
				if len(fr) > 0 {
					a = Annotation(fr[0] % 5)
					fr = fr[1:]
				}
				n = tr.child(n, key(tr.intern(fr), KindCPU, a))
			}
			for m := n; m != none; m = tr.at(m).parent {
				tr.at(m).total += int64(i + 1)
			}
		}
		if !tr.rescale(pow10(scale)) {
			return
		}
		var w bytes.Buffer
		if err := WriteFolded(&w, tr); err != nil {
			t.Fatal(err)
		}
		again := NewTree("samples")
		err := ParseFolded(bytes.NewReader(w.Bytes()), "again", again)
		if tr.Total() == 0 {
			if !errors.Is(err, ErrEmpty) {
				t.Fatalf("empty tree: %v", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("own output does not parse: %v\n%q", err, w.String())
		}
		if got, want := dump(again), dump(tr); got != want {
			t.Fatalf("round trip changed the tree:\n%s\nwant\n%s\noutput %q", got, want, w.String())
		}
	})
}
