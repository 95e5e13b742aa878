// Command gentestdata writes the small inputs of package flame's tests into
// a directory (go generate runs it for internal/flame/testdata):
//
//	exact.folded    stacks whose flame graph is worked out by hand in the tests
//	hostile.folded  frame names that try to break out of SVG and script
//	cpu.pprof       gzipped CPU profile: two sample types, inlined frames, labels
//	heap.pprof      uncompressed heap profile with four sample types
//	before.folded, after.folded  a pair for differential graphs
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/pprof/profile"
)

func main() {
	dir := flag.String("dir", "testdata", "output directory")
	flag.Parse()
	if err := run(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "gentestdata:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := map[string][]byte{
		// Unsorted, with a repeated stack (merged), a frame that is both a
		// leaf and a parent (main), CRLF, a blank line and a trailing ';'.
		"exact.folded": []byte("main;work;compute 30\n" +
			"main;alloc 10\r\n" +
			"main 5\n" +
			"\n" +
			"main;work;compute 20\n" +
			"main;work;io;read; 25\n" +
			"main;work 5\n" +
			"gc;mark 4\n" +
			"main;tiny 1\n"),
		"hostile.folded": []byte("main;<script>alert(1)</script> 10\n" +
			"main;\"quoted\" & 'single' 7\n" +
			"main;end]]>of cdata 5\n" +
			"main;bad\xff\xfeutf8 3\n" +
			"main;</svg><svg onload=alert(2)> 2\n" +
			"main;\u2028line\u2029sep 1\n"),
		"before.folded": []byte("main;parse 50\nmain;render 30\nmain;render;layout 20\n"),
		"after.folded":  []byte("main;parse 20\nmain;render 30\nmain;render;layout 60\nmain;cache 10\n"),
	}
	cpu, err := cpuProfile()
	if err != nil {
		return err
	}
	files["cpu.pprof"] = cpu
	heap, err := heapProfile()
	if err != nil {
		return err
	}
	files["heap.pprof"] = heap
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func fn(id uint64, name string) *profile.Function {
	return &profile.Function{ID: id, Name: name, SystemName: name, Filename: "/src/" + name + ".go"}
}

// cpuProfile: main.main calls main.handle which has main.parse inlined into
// it (one location, two lines) and calls runtime.mallocgc.
func cpuProfile() ([]byte, error) {
	mainF, handle, parse, malloc := fn(1, "main.main"), fn(2, "main.handle"), fn(3, "main.parse"), fn(4, "runtime.mallocgc")
	m := &profile.Mapping{ID: 1, Start: 0x400000, Limit: 0x800000, File: "/bin/app", HasFunctions: true}
	lMain := &profile.Location{ID: 1, Mapping: m, Address: 0x401000, Line: []profile.Line{{Function: mainF, Line: 10}}}
	// Line[0] is the innermost (inlined) function.
	lHandle := &profile.Location{ID: 2, Mapping: m, Address: 0x402000, Line: []profile.Line{{Function: parse, Line: 33}, {Function: handle, Line: 20}}}
	lHandle2 := &profile.Location{ID: 3, Mapping: m, Address: 0x402100, Line: []profile.Line{{Function: handle, Line: 25}}}
	lMalloc := &profile.Location{ID: 4, Mapping: m, Address: 0x403000, Line: []profile.Line{{Function: malloc, Line: 900}}}
	lRaw := &profile.Location{ID: 5, Mapping: m, Address: 0x404abc}
	p := &profile.Profile{
		SampleType:        []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		DefaultSampleType: "cpu",
		PeriodType:        &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:            10000000,
		TimeNanos:         1,
		DurationNanos:     1e9,
		Mapping:           []*profile.Mapping{m},
		Location:          []*profile.Location{lMain, lHandle, lHandle2, lMalloc, lRaw},
		Function:          []*profile.Function{mainF, handle, parse, malloc},
		Sample: []*profile.Sample{
			{Location: []*profile.Location{lHandle, lMain}, Value: []int64{3, 30000000}, Label: map[string][]string{"span_name": {"checkout"}}},
			{Location: []*profile.Location{lMalloc, lHandle2, lMain}, Value: []int64{2, 20000000}, Label: map[string][]string{"span_name": {"cart"}}},
			{Location: []*profile.Location{lMalloc, lHandle, lMain}, Value: []int64{1, 10000000}, Label: map[string][]string{"span_name": {"checkout"}}},
			{Location: []*profile.Location{lRaw, lMain}, Value: []int64{4, 40000000}},
			{Location: []*profile.Location{lMain}, Value: []int64{0, 0}},
		},
	}
	var b bytes.Buffer
	err := p.Write(&b) // gzipped
	return b.Bytes(), err
}

func heapProfile() ([]byte, error) {
	mainF, alloc := fn(1, "main.main"), fn(2, "main.buildIndex")
	lMain := &profile.Location{ID: 1, Address: 0x1000, Line: []profile.Line{{Function: mainF, Line: 5}}}
	lAlloc := &profile.Location{ID: 2, Address: 0x2000, Line: []profile.Line{{Function: alloc, Line: 42}}}
	p := &profile.Profile{
		SampleType: []*profile.ValueType{
			{Type: "alloc_objects", Unit: "count"}, {Type: "alloc_space", Unit: "bytes"},
			{Type: "inuse_objects", Unit: "count"}, {Type: "inuse_space", Unit: "bytes"},
		},
		PeriodType: &profile.ValueType{Type: "space", Unit: "bytes"},
		Period:     524288,
		Location:   []*profile.Location{lMain, lAlloc},
		Function:   []*profile.Function{mainF, alloc},
		Sample: []*profile.Sample{
			{Location: []*profile.Location{lAlloc, lMain}, Value: []int64{100, 1 << 20, 10, 1 << 16}, NumLabel: map[string][]int64{"bytes": {8192}}},
			{Location: []*profile.Location{lMain}, Value: []int64{5, 4096, 1, 1024}},
		},
	}
	var b bytes.Buffer
	err := p.WriteUncompressed(&b)
	return b.Bytes(), err
}
