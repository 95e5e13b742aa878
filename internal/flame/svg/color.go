package svg

import (
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/tracekit-go/tracekit/internal/flame"
)

// Palette chooses the colours of frames.
type Palette uint8

// Palettes. Colours depend only on the frame's name (its package, mostly),
// never on randomness or position, so the same function has the same colour
// in every graph.
const (
	Hot       Palette = iota // warm reds and yellows, for CPU (the default)
	Mem                      // greens, for allocations
	IO                       // blues, for I/O
	BlueGreen                // blue-greens, for off-CPU time (waits)
)

// PaletteFor picks the palette that suits what t measures: [Mem] for
// allocations (bytes, objects), [BlueGreen] for time spent waiting (mutex
// and block delay, contentions, goroutine stacks), [Hot] for the rest.
func PaletteFor(t *flame.Tree) Palette {
	st := strings.ToLower(t.SampleType)
	switch {
	case t.Unit == "bytes" || strings.Contains(st, "alloc") || strings.Contains(st, "inuse") || strings.Contains(st, "space") || strings.Contains(st, "objects"):
		return Mem
	case strings.Contains(st, "delay") || strings.Contains(st, "contention") || strings.Contains(st, "goroutine") || strings.Contains(st, "block"):
		return BlueGreen
	}
	return Hot
}

// ParsePalette returns the palette named "hot", "mem", "io" or "bluegreen".
func ParsePalette(s string) (Palette, error) {
	switch strings.ToLower(s) {
	case "hot", "":
		return Hot, nil
	case "mem":
		return Mem, nil
	case "io":
		return IO, nil
	case "bluegreen", "blue-green", "blue/green", "offcpu":
		return BlueGreen, nil
	}
	return Hot, fmt.Errorf("unknown palette %q: expected hot, mem, io or bluegreen", s)
}

// pkgOf returns the package part of a Go symbol ("net/http.(*conn).serve" →
// "net/http"), the namespace of a C++ one ("std::sort" → "std"), or the
// name itself. Annotations like "_[k]" are ignored.
func pkgOf(name string) string {
	if i := strings.LastIndex(name, "_["); i > 0 && strings.HasSuffix(name, "]") {
		name = name[:i]
	}
	slash := strings.LastIndexByte(name, '/')
	rest := name[slash+1:]
	if i := strings.Index(rest, "::"); i > 0 {
		return name[:slash+1+i]
	}
	if i := strings.IndexByte(rest, '.'); i > 0 {
		return name[:slash+1+i]
	}
	return name
}

func hash01(s string, seed byte) (float64, float64) {
	h := fnv.New32a()
	h.Write([]byte{seed})
	h.Write([]byte(s))
	v := h.Sum32()
	return float64(v&0xffff) / 0xffff, float64(v>>16) / 0xffff
}

// frameColor returns the fill of a frame named name of kind k: span frames
// in [IO]'s blue-greys and off-CPU frames in [BlueGreen] whatever p is, so
// that spans look the same in span-only and merged graphs and never take
// the red that marks errors.
func frameColor(p Palette, name string, k flame.Kind) string {
	v1, v2 := hash01(pkgOf(name), 1)
	v3, _ := hash01(name, 2) // a little variation between functions of a package
	switch k {
	case flame.KindOffCPU:
		p = BlueGreen
	case flame.KindSpan:
		p = IO
	}
	var r, g, b int
	switch p {
	case Mem:
		r, g, b = 0, 190+int(50*v2), int(210*v1)
	case IO:
		r = 80 + int(60*v1)
		g, b = r, 190+int(55*v2)
	case BlueGreen:
		r, g, b = 0, 140+int(80*v1), 160+int(90*v2)
	default:
		r, g, b = 205+int(50*v3), int(230*v1), int(55*v2)
	}
	return fmt.Sprintf("rgb(%d,%d,%d)", r, g, b)
}

// annotationColor is the fill of an annotated frame of folded input, in
// flamegraph.pl's colours for its annotations: kernel orange, JIT green,
// inlined and waker aqua.
func annotationColor(name string, a flame.Annotation) string {
	v, _ := hash01(name, 3)
	switch a {
	case flame.Kernel:
		return fmt.Sprintf("rgb(%d,%d,0)", 190+int(65*v), 90+int(65*v))
	case flame.JIT:
		return fmt.Sprintf("rgb(%d,%d,%d)", 50+int(60*v), 200+int(55*v), 50+int(60*v))
	}
	return fmt.Sprintf("rgb(%d,%d,%d)", 50+int(60*v), 165+int(55*v), 165+int(55*v))
}

// diffColor colours a frame of a differential graph: red for growth, blue
// for shrinkage, white for no change, deeper with the size of the change
// relative to the largest change in the graph.
func diffColor(delta, maxAbs int64) string {
	if delta == 0 || maxAbs == 0 {
		return "rgb(250,250,250)"
	}
	ratio := float64(delta) / float64(maxAbs)
	if ratio < 0 {
		ratio = -ratio
	}
	c := 210 - int(210*ratio)
	if delta > 0 {
		return fmt.Sprintf("rgb(255,%d,%d)", c, c)
	}
	return fmt.Sprintf("rgb(%d,%d,255)", c, c)
}
