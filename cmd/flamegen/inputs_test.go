package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/pprof/profile"
)

const (
	flameCorpus = "../../internal/flame/testdata/corpus"
	spansCorpus = "../../internal/spans/testdata/corpus"
)

// zeros reads n zero bytes without holding them.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), z.n)]
	clear(p)
	z.n -= int64(len(p))
	return len(p), nil
}

// gzipStream gzips what r yields into a pipe as it is read; closing it
// ends the gzipping.
func gzipStream(r io.Reader) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		w, _ := gzip.NewWriterLevel(pw, gzip.BestSpeed)
		_, err := io.Copy(w, r)
		if err == nil {
			err = w.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr
}

// allocated returns the bytes fn allocates.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A gzip of 1 GB of zeros (about 1 MB compressed) is refused from its first
// bytes, in bounded memory; a bomb that starts like a profile stops at
// --max-size; a stream of folded lines too, however little memory it needs.
func TestDecompressionBombs(t *testing.T) {
	tests := []struct {
		name string
		in   func() io.ReadCloser
		args []string
		msg  string
	}{
		{"1 GB of zeros", func() io.ReadCloser { return gzipStream(&zeros{1 << 30}) }, nil,
			"-: offset 0: unrecognised format: expected folded stacks, a pprof profile (protobuf or legacy), traces (OTLP JSON or protobuf, Jaeger JSON), or a Go execution trace"},
		{"a legacy profile header, then 1 GB of spaces", func() io.ReadCloser {
			return gzipStream(io.MultiReader(strings.NewReader("heap profile: 1: 2 [3: 4] @ heap/1\n"), io.LimitReader(repeatReader(' '), 1<<30)))
		}, []string{"--max-size", "16MiB"}, "-: offset 16777216: input too large: expected at most 16777216 bytes decompressed"},
		{"1 GB of folded lines", func() io.ReadCloser {
			return gzipStream(io.LimitReader(lines("main;work 1\n"), 1<<30))
		}, []string{"--max-size", "8MiB"}, "-: offset 8388608: input too large: expected at most 8388608 bytes decompressed"},
		{"an execution trace of 1 GB of batches", func() io.ReadCloser {
			// Batches of one part (generation 1) of 60,000 bytes each: the
			// parser keeps a part's batches until its end.
			batch := string(binary.AppendUvarint([]byte{1, 1, 1, 1}, 60000)) + strings.Repeat("\x00", 60000)
			return gzipStream(io.MultiReader(strings.NewReader("go 1.26 trace\x00\x00\x00"), io.LimitReader(lines(batch), 1<<30)))
		}, []string{"report", "--max-size", "8MiB"}, "-: offset 8388608: input too large: expected at most 8388608 bytes decompressed"},
		{"1 GB of OTLP JSON lines", func() io.ReadCloser {
			return gzipStream(io.LimitReader(lines(`{"resourceSpans":[]}`+"\n"), 1<<30))
		}, []string{"--max-size", "8MiB"}, "-: offset 8388608: input too large: expected at most 8388608 bytes decompressed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr string
			var code int
			in := tt.in()
			defer in.Close()
			mem := allocated(func() {
				_, stderr, code = flamegenReader(t, in, append(tt.args, "-")...)
			})
			if code != 2 || !strings.Contains(stderr, tt.msg) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tt.msg)
			}
			if mem > 256<<20 {
				t.Errorf("allocated %d MiB", mem>>20)
			}
		})
	}
}

// lines repeats a line forever.
func lines(s string) io.Reader { return &repeatLine{s: s} }

type repeatLine struct {
	s   string
	off int
}

func (r *repeatLine) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.s[r.off:])
		n += c
		r.off = (r.off + c) % len(r.s)
	}
	return n, nil
}

func flamegenReader(t *testing.T, stdin io.Reader, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	err := Run(context.Background(), args, stdin, &o, &e)
	return o.String(), e.String(), ExitCode(err)
}

// URL inputs give up on a server that does not answer, that stops
// sending, or that sends without end; the wait for a profile's answer
// grows by its seconds= parameter.
func TestURLBounds(t *testing.T) {
	folded := "main;work 3\n"
	release := make(chan struct{})
	defer close(release)
	mux := http.NewServeMux()
	mux.HandleFunc("/stall", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, folded)
		w.(http.Flusher).Flush()
		select { // then nothing until the client gives up
		case <-r.Context().Done():
		case <-release:
		}
	})
	mux.HandleFunc("/endless", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, lines(folded))
	})
	mux.HandleFunc("/debug/pprof/profile", func(w http.ResponseWriter, r *http.Request) {
		// A profiling endpoint answers once its seconds= have passed.
		s, _ := strconv.Atoi(r.URL.Query().Get("seconds"))
		select {
		case <-time.After(time.Duration(s) * time.Second / 2):
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, folded)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// A server that accepts connections and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	conns.Add(1)
	go func() {
		defer conns.Done()
		var held []net.Conn
		for {
			c, err := silent.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	defer func() {
		silent.Close()
		conns.Wait()
	}()

	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"silent server", []string{"--timeout", "300ms", "http://" + silent.Addr().String() + "/x"}, 1, "no answer from " + silent.Addr().String() + " within 300ms (--timeout)"},
		{"stalled body", []string{"--timeout", "300ms", srv.URL + "/stall"}, 1, "no data from " + strings.TrimPrefix(srv.URL, "http://") + " within 300ms (--timeout)"},
		{"endless body", []string{"--max-size", "4MiB", srv.URL + "/endless"}, 2, "/endless: offset 4194304: input too large: expected a response of at most 4194304 bytes (--max-size)"},
		{"profile duration extends the wait", []string{"--timeout", "500ms", "--format", "folded", srv.URL + "/debug/pprof/profile?seconds=2"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, code := flamegen(t, "", tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.msg) || strings.Count(stderr, "\n") > 1 {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tt.code, tt.msg)
			}
			if tt.code == 0 && out != folded {
				t.Errorf("output %q", out)
			}
		})
	}
}

// Several profiles are merged as go tool pprof merges them: the totals of
// its -raw listing of the same files.
func TestMergeProfiles(t *testing.T) {
	pprof, err := exec.Command("go", "tool", "-n", "pprof").Output()
	if err != nil {
		t.Skipf("go tool pprof: %v", err)
	}
	a, b := filepath.Join(flameCorpus, "go-devirt.pprof"), filepath.Join(flameCorpus, "go-inline_hot.pprof")
	raw, err := exec.Command(strings.TrimSpace(string(pprof)), "-raw", a, b).Output()
	if err != nil {
		t.Fatal(err)
	}
	var want int64 // the cpu column, the last one of the -raw listing
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sample := regexp.MustCompile(`^\s+\d+\s+(\d+): `)
	for sc.Scan() {
		if m := sample.FindStringSubmatch(sc.Text()); m != nil {
			v, _ := strconv.ParseInt(m[1], 10, 64)
			want += v
		}
	}
	out, stderr, code := flamegen(t, "", "--format", "folded", a, b)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got int64
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		v, _ := strconv.ParseInt(l[strings.LastIndexByte(l, ' ')+1:], 10, 64)
		got += v
	}
	if got != want || want == 0 {
		t.Errorf("merged total %d, go tool pprof -raw %d", got, want)
	}
	// Folded files are summed; folded and pprof do not mix.
	dir := t.TempDir()
	f1, f2 := filepath.Join(dir, "1.folded"), filepath.Join(dir, "2.folded")
	os.WriteFile(f1, []byte("a;b 1\n"), 0o644)
	os.WriteFile(f2, []byte("a;b 2.5\na 1\n"), 0o644)
	if out, _, _ := flamegen(t, "", "--format", "folded", f1, f2); out != "a 1.0\na;b 3.5\n" {
		t.Errorf("folded sum %q", out)
	}
	if _, stderr, code := flamegen(t, "", f1, a); code != 2 || !strings.Contains(stderr, "holds folded stacks and "+a+" a pprof profile") {
		t.Errorf("mixed inputs: exit %d, %q", code, stderr)
	}
}

// Inputs that give nothing to draw end with status 2 and say why.
func TestNothingToDraw(t *testing.T) {
	tests := []struct {
		name, stdin string
		args        []string
		msg         string
	}{
		{"empty object", "{}", []string{"-"}, "-: line 1: no samples: expected spans: the input has none of the fields resourceSpans"},
		{"unknown field", `{"traces": [1, 2]}`, []string{"-"}, "the input has none of the fields resourceSpans, resource_spans, data or result"},
		{"no spans", `{"resourceSpans": [{"scopeSpans": []}]}`, []string{"-"}, "expected spans: OTLP resourceSpans[].scopeSpans[].spans or Jaeger data[].spans; the input has none"},
		{"empty Jaeger answer", `{"data": [], "total": 0}`, []string{"-"}, "the input has none"},
		{"a tag that matches nothing", "", []string{"--tag", "span_name=nope", filepath.Join(testdata, "cpu.pprof")}, "expected a sample labelled span_name=nope (labels in the profile: span_name)"},
		{"a legacy heap profile, numeric labels only", "", []string{"--tag", "span_name=checkout", filepath.Join(flameCorpus, "pprof-gobench.heap")}, "(labels in the profile: bytes)"},
		{"a heap profile without labels", unlabelledHeap(t), []string{"--tag", "span_name=checkout", "-"}, "expected a sample labelled span_name=checkout (labels in the profile: none)"},
		{"zero counts", "a 0\nb;c 0\n", []string{"-"}, "-: offset 0: no samples: expected a stack with a non-zero count"},
		{"zero-length spans", `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"a","startTimeUnixNano":"5","endTimeUnixNano":"5"}]}]}]}`, []string{"-"}, "a span that lasts: the 1 traces' spans all have zero duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, code := flamegen(t, tt.stdin, tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.msg) || out != "" {
				t.Errorf("exit %d, stdout %d bytes, stderr %q; want 2 and %q", code, len(out), stderr, tt.msg)
			}
		})
	}
}

// unlabelledHeap is a heap profile whose samples carry no labels.
func unlabelledHeap(t *testing.T) string {
	f := &profile.Function{ID: 1, Name: "main.alloc"}
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "inuse_space", Unit: "bytes"}},
		Function:   []*profile.Function{f},
		Location:   []*profile.Location{{ID: 1, Line: []profile.Line{{Function: f}}}},
	}
	p.Sample = []*profile.Sample{{Location: p.Location, Value: []int64{4096}}}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// A delta profile (negative values) is drawn as a differential graph.
func TestDeltaProfile(t *testing.T) {
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "inuse_space", Unit: "bytes"}},
		Function:   []*profile.Function{{ID: 1, Name: "main.grow"}, {ID: 2, Name: "main.shrink"}, {ID: 3, Name: "main.main"}},
	}
	for i, f := range p.Function {
		p.Location = append(p.Location, &profile.Location{ID: uint64(i + 1), Line: []profile.Line{{Function: f}}})
	}
	p.Sample = []*profile.Sample{
		{Location: []*profile.Location{p.Location[0], p.Location[2]}, Value: []int64{4096}},
		{Location: []*profile.Location{p.Location[1], p.Location[2]}, Value: []int64{-1024}},
	}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := flamegen(t, buf.String(), "--format", "folded", "-")
	if code != 0 || out != "main.main;main.grow 0 4096\nmain.main;main.shrink 1024 0\n" {
		t.Errorf("exit %d, stderr %q, output\n%s", code, stderr, out)
	}
	svgOut, _, code := flamegen(t, buf.String(), "-")
	if code != 0 || !strings.Contains(svgOut, "Differential Flame Graph") {
		t.Errorf("svg: exit %d", code)
	}
	top, _, _ := flamegen(t, buf.String(), "--format", "top", "-")
	if !strings.Contains(top, "-1.00 KiB") || !strings.Contains(top, "+4.00 KiB") {
		t.Errorf("top:\n%s", top)
	}
	// A delta that only lost has nothing of width to draw; the table and
	// the folded stacks still say what it lost.
	p.Sample = p.Sample[1:]
	buf.Reset()
	p.Write(&buf)
	if out, stderr, code := flamegen(t, buf.String(), "-"); code != 2 || out != "" || !strings.Contains(stderr, "expected a frame with a non-zero value to draw (all the values are in the baseline: --format top lists them)") {
		t.Errorf("only losses: exit %d, %q", code, stderr)
	}
	if out, _, code := flamegen(t, buf.String(), "--format", "folded", "-"); code != 0 || out != "main.main;main.shrink 1024 0\n" {
		t.Errorf("only losses, folded: exit %d, %q", code, out)
	}
}

// --format folded reads back to the same graph, names with ';' and
// newlines included.
func TestFoldedRoundTrip(t *testing.T) {
	p := &profile.Profile{SampleType: []*profile.ValueType{{Type: "cpu", Unit: "nanoseconds"}}}
	for i, name := range []string{"main.main", "pkg.F[go.shape.struct { a int; b int }]", "odd\nname", "100%", "#hash"} {
		f := &profile.Function{ID: uint64(i + 1), Name: name}
		p.Function = append(p.Function, f)
		p.Location = append(p.Location, &profile.Location{ID: uint64(i + 1), Line: []profile.Line{{Function: f}}})
	}
	for i := 1; i < len(p.Location); i++ {
		p.Sample = append(p.Sample, &profile.Sample{Location: []*profile.Location{p.Location[i], p.Location[0]}, Value: []int64{int64(i) * 10}})
	}
	var buf bytes.Buffer
	p.Write(&buf)
	first, stderr, code := flamegen(t, buf.String(), "--format", "folded", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	again, _, code := flamegen(t, first, "--format", "folded", "-")
	if code != 0 || again != first || !strings.Contains(first, "main.main;pkg.F[go.shape.struct { a int%3B b int }] 10\n") {
		t.Errorf("exit %d\nfirst\n%s\nagain\n%s", code, first, again)
	}
	top1, _, _ := flamegen(t, buf.String(), "--format", "top", "-")
	top2, _, _ := flamegen(t, first, "--format", "top", "--unit", "nanoseconds", "-")
	if top1 != top2 {
		t.Errorf("the graphs differ:\n%s\n%s", top1, top2)
	}
}

// Traces are found by their content in every form: OTLP protobuf (not
// taken for a pprof profile), a byte-order mark, a JSON array, gzip.
func TestTraceInputsByContent(t *testing.T) {
	spans := "../../internal/spans/testdata"
	raw, _ := os.ReadFile(filepath.Join(spans, "traces.pb"))
	framed, _ := os.ReadFile(filepath.Join(spans, "traces-framed.pb"))
	lines, _ := os.ReadFile(filepath.Join(spans, "traces.jsonl"))
	var arr bytes.Buffer
	arr.WriteString("[")
	for i, l := range bytes.Split(bytes.TrimSpace(lines), []byte("\n")) {
		if i > 0 {
			arr.WriteString(",\n")
		}
		arr.Write(l)
	}
	arr.WriteString("]\n")
	want, _, _ := flamegen(t, string(lines), "--format", "folded", "-")
	for name, in := range map[string][]byte{
		"OTLP protobuf": raw, "Collector proto file": framed, "byte-order mark": append([]byte("\xef\xbb\xbf"), lines...),
		"JSON array": arr.Bytes(), "gzipped protobuf": gz(framed),
	} {
		out, stderr, code := flamegen(t, string(in), "--format", "folded", "-")
		if code != 0 || out != want {
			t.Errorf("%s: exit %d, %s", name, code, stderr)
		}
	}
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// The one-trace chart of the Jaeger UI's async fixture: the child at its
// real time, the part after its parent hatched, tooltips to the
// microsecond the file gives.
func TestAsyncChart(t *testing.T) {
	in := filepath.Join(spansCorpus, "jaeger-ui-traceWithSingleChildLongerThanParentAndStartsAfterParent.json")
	out, stderr, code := flamegen(t, "", "--trace", "006c3cf93508f205", in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"400µs wall time · 2 spans · 1 async (outside their parent)",
		"<title>service-two: async task 1 (300.00 µs, 75.00%)&#xA;duration 300µs, self 300µs, starts at +100µs&#xA;async: 300µs after its parent ended (hatched)&#xA;",
		"<title>service-one: send (40.00 µs, 10.00%)&#xA;duration 40µs, self 40µs, starts at +0s&#xA;",
		// The 300 µs after the parent's end (100 µs to 400 µs of 400 µs,
		// at 1180 px for the axis) are hatched.
		`<rect class="outside" x="305.00" y="100" width="885.00" height="15" fill="url(#outside)"`,
		"Hatched: the part of a span outside its parent&#39;s time, such as async work that outlives it (1 span)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("chart lacks %q", want)
		}
	}
	// Aggregated, the parent's frame holds the child: the root is the wall
	// time. (A name ending like a count is escaped, or it would read as
	// the first count of a differential line.)
	folded, _, _ := flamegen(t, "", "--format", "folded", in)
	if folded != "# flamegen: %XX escapes in frame names\nservice-one: send 100000\nservice-one: send;service-two: async task%201 300000\n" {
		t.Errorf("folded:\n%s", folded)
	}
}

// A 20,000-deep parent chain draws, reports and charts (its cost is linear
// in its depth; see the spans package's TestDeepChainLinear).
func TestDeepChain(t *testing.T) {
	const n = 20000
	var b strings.Builder
	b.WriteString(`{"resourceSpans":[{"scopeSpans":[{"spans":[`)
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteString(",")
		}
		parent := ""
		if i > 1 {
			parent = fmt.Sprintf("%016x", i-1)
		}
		fmt.Fprintf(&b, `{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"%016x","parentSpanId":"%s","name":"f%d","startTimeUnixNano":"%d","endTimeUnixNano":"%d"}`,
			i, parent, i%7, 1000+i, 1000+3*n-i)
	}
	b.WriteString("]}]}]}\n")
	in := b.String()
	for _, args := range [][]string{{"-"}, {"report", "-"}, {"--trace", "0102030405060708090a0b0c0d0e0f10", "-"}} {
		out, stderr, code := flamegen(t, in, args...)
		if code != 0 || len(out) == 0 {
			t.Errorf("%v: exit %d, %s", args, code, stderr)
		}
	}
}
