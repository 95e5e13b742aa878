package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracekit-go/tracekit/internal/flame"
)

const testdata = "../../internal/flame/testdata"

func flamegen(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	err := Run(context.Background(), args, strings.NewReader(stdin), &o, &e)
	return o.String(), e.String(), ExitCode(err)
}

func TestExitCodesAndMessages(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name  string
		stdin string
		args  []string
		code  int
		msg   string // in stderr, which must be one line
	}{
		{"folded on stdin", "a;b 1\n", []string{"--format", "folded", "-"}, 0, ""},
		{"missing count", "a;b 1\na;c\n", []string{"-"}, 2, "flamegen: -: line 2: syntax error: no count after the stack: expected"},
		{"negative count", "a -1\n", []string{"-"}, 2, `line 1: syntax error: count "-1": negative`},
		{"empty input", "", []string{"-"}, 2, "flamegen: -: offset 0: no samples"},
		{"no such file", "", []string{filepath.Join(dir, "nope")}, 1, "no such file or directory"},
		{"directory", "", []string{dir}, 2, "is a directory"},
		{"unknown flag", "", []string{"--nope", "x"}, 2, "flag provided but not defined: -nope"},
		{"no input", "", nil, 2, "expected one input"},
		{"two missing inputs", "", []string{"a", "b"}, 1, "open a"},
		{"diff needs two", "", []string{"diff", "a"}, 2, "expected two inputs"},
		{"bad format", "a 1\n", []string{"--format", "png", "-"}, 2, `--format "png": expected svg, folded or top`},
		{"bad palette", "a 1\n", []string{"--palette", "pink", "-"}, 2, "unknown palette"},
		{"bad sort", "a 1\n", []string{"--sort", "random", "-"}, 2, "expected alpha or heavy"},
		{"bad regex", "a 1\n", []string{"--highlight", "(", "-"}, 2, "--highlight"},
		{"bad tag", "a 1\n", []string{"--tag", "novalue", "-"}, 2, "expected KEY=VALUE"},
		{"unwritable output", "a 1\n", []string{"-", "-o", filepath.Join(dir, "no", "such", "dir", "x.svg")}, 1, "no such file or directory"},
		{"unknown sample type", "", []string{"--sample-type", "wall", filepath.Join(testdata, "cpu.pprof")}, 2, `no sample type "wall": expected a sample type among samples, cpu`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := flamegen(t, tt.stdin, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if !strings.Contains(stderr, tt.msg) {
				t.Errorf("stderr %q, want it to contain %q", stderr, tt.msg)
			}
			if strings.Count(stderr, "\n") > 1 {
				t.Errorf("stderr is more than one line: %q", stderr)
			}
		})
	}
}

// Flags may follow the input, as users type them.
func TestFlagsAfterInput(t *testing.T) {
	out, _, code := flamegen(t, "b 1\na 2\n", "-", "--format", "folded")
	if code != 0 || out != "a 2\nb 1\n" {
		t.Errorf("exit %d, output %q", code, out)
	}
}

func TestOutputFileIsAtomic(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "cpu.svg")
	if _, stderr, code := flamegen(t, "", filepath.Join(testdata, "cpu.pprof"), "-o", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	good, err := os.ReadFile(out)
	if err != nil || !bytes.HasPrefix(good, []byte("<?xml")) {
		t.Fatalf("output %q, %v", good[:min(len(good), 20)], err)
	}
	// A failing run leaves the previous file alone and no temp file behind.
	if _, _, code := flamegen(t, "a 1\nbroken\n", "-", "-o", out); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	after, _ := os.ReadFile(out)
	if !bytes.Equal(after, good) {
		t.Error("failed run changed the output file")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only cpu.svg", len(entries))
	}
	// A failing first run creates nothing.
	if _, _, code := flamegen(t, "", "-", "-o", filepath.Join(dir, "new.svg")); code != 2 {
		t.Fatal("empty input accepted")
	}
	if _, err := os.Stat(filepath.Join(dir, "new.svg")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("failed run created its output: %v", err)
	}
}

func TestGzippedStdinAndDeterminism(t *testing.T) {
	in, _ := os.ReadFile(filepath.Join(testdata, "exact.folded"))
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write(in)
	w.Close()
	a, _, code := flamegen(t, z.String(), "-")
	b, _, _ := flamegen(t, string(in), "-")
	if code != 0 || a != b {
		t.Error("gzipped and plain input drew different graphs")
	}
}

func TestURLInput(t *testing.T) {
	cpu, _ := os.ReadFile(filepath.Join(testdata, "cpu.pprof"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/debug/pprof/profile" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(cpu)
	}))
	defer srv.Close()
	defer srv.Client().CloseIdleConnections()
	out, stderr, code := flamegen(t, "", "--format", "top", "--top", "1", srv.URL+"/debug/pprof/profile?seconds=1")
	if code != 0 || !strings.Contains(out, "app+0x4abc") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	_, stderr, code = flamegen(t, "", srv.URL+"/nope")
	if code != 1 || !strings.Contains(stderr, "404 Not Found") {
		t.Errorf("missing endpoint: exit %d, stderr %q", code, stderr)
	}
}

func TestDiff(t *testing.T) {
	before, after := filepath.Join(testdata, "before.folded"), filepath.Join(testdata, "after.folded")
	out, _, code := flamegen(t, "", "diff", "--format", "folded", before, after)
	if want := "main;cache 0 10\nmain;parse 60 20\nmain;render 36 30\nmain;render;layout 24 60\n"; code != 0 || out != want {
		t.Errorf("exit %d, output\n%s\nwant\n%s", code, out, want)
	}
	out, _, _ = flamegen(t, "", "diff", "--no-normalize", "--format", "folded", before, after)
	if !strings.Contains(out, "main;parse 50 20\n") {
		t.Errorf("--no-normalize output\n%s", out)
	}
	svgOut, _, code := flamegen(t, "", "diff", before, after)
	if code != 0 || !strings.Contains(svgOut, "Differential Flame Graph") {
		t.Errorf("diff svg: exit %d", code)
	}
}

func TestReverseAndPprofFlags(t *testing.T) {
	cpu := filepath.Join(testdata, "cpu.pprof")
	out, _, _ := flamegen(t, "", "--format", "folded", "--sample-type", "samples", "--tag", "span_name=checkout", "--lines", cpu)
	if want := "main.main:10;main.handle:20;main.parse:33 3\nmain.main:10;main.handle:20;main.parse:33;runtime.mallocgc:900 1\n"; out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	out, _, _ = flamegen(t, "c;b;a 1\n", "--reverse", "--format", "folded", "-")
	if out != "a;b;c 1\n" {
		t.Errorf("reverse: %q", out)
	}
}

func TestHelpVersionQuiet(t *testing.T) {
	out, _, code := flamegen(t, "", "--help")
	for _, s := range []string{"Examples:", "flamegen diff before.pprof after.pprof", "-minwidth", "-sample-type"} {
		if code != 0 || !strings.Contains(out, s) {
			t.Errorf("--help (exit %d) lacks %q", code, s)
		}
	}
	out, _, code = flamegen(t, "", "--version")
	if code != 0 || !strings.HasPrefix(out, "flamegen ") {
		t.Errorf("--version: exit %d %q", code, out)
	}
	// stderr is not a terminal here: no progress, nothing at all on success.
	_, stderr, _ := flamegen(t, strings.Repeat("a;b;c 1\n", 1<<20), "--format", "top", "-")
	if stderr != "" {
		t.Errorf("stderr %q, want nothing when it is not a terminal", stderr)
	}
}

func TestProgressReader(t *testing.T) {
	var e bytes.Buffer
	p := &progressReader{r: strings.NewReader(strings.Repeat("x", 40<<20)), w: &e, name: "in", size: 40 << 20}
	buf := make([]byte, 1<<20)
	for {
		if _, err := p.Read(buf); err != nil {
			break
		}
	}
	p.done()
	if got := e.String(); !strings.Contains(got, "\rflamegen: reading in: 1 MiB of 40 MiB") || !strings.Contains(got, "17 MiB of 40 MiB") || !strings.HasSuffix(got, "\r\033[K") {
		t.Errorf("progress output %q", got)
	}
	if isTerminal(&e) {
		t.Error("a buffer is not a terminal")
	}
}

func TestContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Run(ctx, []string{"-"}, strings.NewReader("a 1\n"), new(bytes.Buffer), new(bytes.Buffer))
	if !errors.Is(err, context.Canceled) || ExitCode(err) != 1 {
		t.Errorf("err %v (exit %d), want context.Canceled and 1", err, ExitCode(err))
	}
	var pe *flame.ParseError
	if errors.As(err, &pe) {
		t.Error("cancellation reported as bad input")
	}
}

func TestIsTerminal(t *testing.T) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if isTerminal(null) {
		t.Error("/dev/null (a character device) taken for a terminal")
	}
	pt, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer pt.Close()
	if !isTerminal(pt) {
		t.Error("a pseudo-terminal not taken for a terminal")
	}
}

type repeatReader byte

var xs = bytes.Repeat([]byte{'x'}, 1<<16)

func (r repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], xs)
	}
	return n, nil
}

// A 2 GB line is refused after reading the line limit, with a one-line
// error and status 2.
func TestHugeLine(t *testing.T) {
	in := io.MultiReader(strings.NewReader("main;"), io.LimitReader(repeatReader('x'), 2<<30))
	var o, e bytes.Buffer
	err := Run(context.Background(), []string{"-"}, in, &o, &e)
	if ExitCode(err) != 2 || !strings.Contains(e.String(), "-: line 1: line too long: longer than 67108864 bytes: expected") || o.Len() != 0 {
		t.Errorf("exit %d, stderr %q", ExitCode(err), e.String())
	}
}

func TestUnit(t *testing.T) {
	out, _, code := flamegen(t, "main;sleep 1500000000\nmain 500000000\n", "--unit", "nanoseconds", "--format", "top", "-")
	if code != 0 || !strings.Contains(out, "1.50 s  75.00%") {
		t.Errorf("exit %d, output\n%s", code, out)
	}
}
