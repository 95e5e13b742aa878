package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tracekit-go/tracekit/internal/exectrace/fivespans"
	"github.com/tracekit-go/tracekit/internal/spans"
)

// fiveFiles are the files of one run of the five-spans workload.
type fiveFiles struct {
	spans, exec, cpu string
	did              fivespans.Did
}

// recordFive runs the five-spans workload under an execution trace started
// with runtime/trace.Start and a CPU profile, its spans exported by the
// OpenTelemetry SDK to a span file, and writes the three files.
func recordFive(t *testing.T) fiveFiles {
	t.Helper()
	rec, err := fivespans.Record(context.Background(), "five", nil)
	if errors.Is(err, fivespans.ErrRecording) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := fiveFiles{spans: filepath.Join(dir, "spans.jsonl"), exec: filepath.Join(dir, "exec.trace"), cpu: filepath.Join(dir, "cpu.pb.gz"), did: rec.Did}
	for name, b := range map[string][]byte{f.spans: rec.Spans, f.exec: rec.Exec, f.cpu: rec.CPU} {
		if err := os.WriteFile(name, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

type jsonReport struct {
	Input  string
	Frames []struct {
		Frame      string
		States     map[string]int64
		StateFrame bool `json:"state_frame"`
		Waits      []struct {
			On         string
			NS         int64
			ReleasedBy string `json:"released_by"`
		}
	}
}

func reportJSON(t *testing.T, args ...string) jsonReport {
	t.Helper()
	out, errOut, code := flamegen(t, "", append([]string{"report", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("report --json %v: exit %d: %s", args, code, errOut)
	}
	var rep jsonReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report --json: %v\n%s", err, out)
	}
	return rep
}

// dominant returns the state with the most nanoseconds.
func dominant(states map[string]int64) string {
	best := ""
	for s, v := range states {
		if best == "" || v > states[best] || v == states[best] && s < best {
			best = s
		}
	}
	return best
}

// The report names each span's dominant state as the workload made it, and
// the lock and channel waits name the spans that released them; from the
// span file joined with the execution trace by span ID, and from the
// execution trace alone.
func TestExecReport(t *testing.T) {
	f := recordFive(t)
	for _, in := range []struct {
		args   []string
		prefix string
	}{
		{[]string{f.spans, f.exec}, "five: "},
		{[]string{f.exec}, ""},
	} {
		rep := reportJSON(t, in.args...)
		frames := map[string]int{}
		for i, fr := range rep.Frames {
			frames[fr.Frame] = i
		}
		path := func(names ...string) string {
			for i := range names {
				names[i] = in.prefix + names[i]
			}
			return strings.Join(names, " › ")
		}
		for name, want := range fivespans.Want {
			i, ok := frames[path(fivespans.Root, name)]
			if !ok {
				t.Errorf("%v: no frame %q", in.args, path(fivespans.Root, name))
				continue
			}
			if got := dominant(rep.Frames[i].States); got != want {
				t.Errorf("%v: %s: dominant state %s, want %s (%v)", in.args, name, got, want, rep.Frames[i].States)
			}
		}
		for _, w := range []struct{ waiter, on, by string }{
			{fivespans.LockWait, "lock: orders", fivespans.Holder},
			{fivespans.Recv, "chan recv: jobs", fivespans.Sender},
		} {
			fr := rep.Frames[frames[path(fivespans.Root, w.waiter)]]
			if len(fr.Waits) == 0 || fr.Waits[0].On != w.on || fr.Waits[0].ReleasedBy != in.prefix+w.by ||
				fr.Waits[0].NS < fivespans.Slow.Nanoseconds() {
				t.Errorf("%v: %s waited most on %+v, want %s released by %s", in.args, w.waiter, fr.Waits, w.on, w.by)
			}
		}
		// Off-CPU state frames under the spans whose own time they are.
		for _, p := range []string{
			path(fivespans.Root, fivespans.Starved) + " › (runnable)",
			path(fivespans.Root, fivespans.Syscall) + " › (syscall)",
			path(fivespans.Root, fivespans.LockWait, "lock.wait orders") + " › (lock: orders)",
			path(fivespans.Root, fivespans.Recv, "chan.recv jobs") + " › (chan recv: jobs)",
		} {
			i, ok := frames[p]
			if !ok || !rep.Frames[i].StateFrame || len(rep.Frames[i].States) != 1 {
				t.Errorf("%v: state frame %q: %v", in.args, p, ok && rep.Frames[i].StateFrame)
			}
		}
	}

	out, errOut, code := flamegen(t, "", "report", f.spans, f.exec)
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"Where the time went on the spans' goroutines (execution trace)",
		"lock: orders ", ", released by five: hold-orders",
		"five: request › five: starved › (runnable)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	// The critical path crosses from the lock waiter into the holder, which
	// ended before the waiter (the waiter waits for it) and is on no path
	// without the trace.
	crit := out[strings.Index(out, "Critical path"):]
	if !strings.Contains(crit, "five: request › five: hold-orders") {
		t.Errorf("the critical path does not cross into the lock's holder:\n%s", crit)
	}
	plain, _, _ := flamegen(t, "", "report", f.spans)
	if crit := plain[strings.Index(plain, "Critical path"):]; strings.Contains(crit, "hold-orders") {
		t.Errorf("without the execution trace the holder is on the critical path:\n%s", crit)
	}
}

// The one-trace chart draws a band of states under each span, every part
// a rect with its own title, with a legend of the states drawn; the lock
// waiter's tooltip gives its breakdown and who released it.
func TestExecChart(t *testing.T) {
	f := recordFive(t)
	id := f.did.Spans[fivespans.Root].TraceID.String()
	out, errOut, code := flamegen(t, "", "--trace", id, f.spans, f.exec)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Contains(out, "<script") && !strings.Contains(out, `<rect class="band"`) {
		t.Fatal("bands drawn by script")
	}
	band := regexp.MustCompile(`<rect class="band" x="[0-9.]+" y="[0-9]+" width="[0-9.]+" height="[0-9]+" fill="rgb\([0-9,]+\)"><title>([^<]+)</title></rect>`)
	parts := band.FindAllStringSubmatch(out, -1)
	if len(parts) < 10 {
		t.Fatalf("%d band parts, want one or more under each of the 10 spans", len(parts))
	}
	var titles []string
	for _, p := range parts {
		titles = append(titles, p[1])
	}
	joined := strings.Join(titles, "\n")
	for _, want := range []string{"lock ", "lock: orders, released by goroutine ", " in five: hold-orders", "chan recv: jobs", "syscall ", "runnable "} {
		if !strings.Contains(joined, want) {
			t.Errorf("no band part says %q:\n%s", want, joined)
		}
	}
	for _, st := range []string{"running", "runnable", "syscall", "lock", "channel", "sleep"} {
		if !strings.Contains(out, `<g class="state"><title>`+st+": ") {
			t.Errorf("legend lacks %s", st)
		}
	}
	b := bars(t, out)
	waiter := b[fivespans.LockWait]
	if !strings.Contains(waiter.title, "goroutine "+strconv.FormatInt(f.did.Spans[fivespans.LockWait].Goroutine, 10)+": ") ||
		!strings.Contains(waiter.title, "lock ") || !strings.Contains(waiter.title, "longest wait: lock: orders") {
		t.Errorf("%s tooltip: %s", fivespans.LockWait, waiter.title)
	}
	if !strings.Contains(b[fivespans.Holder].title, "on the critical path") {
		t.Errorf("the lock's holder is not on the critical path: %s", b[fivespans.Holder].title)
	}
	plain, _, _ := flamegen(t, "", "--trace", id, f.spans)
	if strings.Contains(plain, `class="band"`) || strings.Contains(plain, `class="state"`) {
		t.Error("bands without an execution trace")
	}
}

// Merged with a CPU profile, a span's running time is split into the CPU
// stacks sampled in it, and its off-CPU states sit beside them.
func TestExecMergedCPU(t *testing.T) {
	f := recordFive(t)
	out, errOut, code := flamegen(t, "", f.spans, f.exec, f.cpu, "--format", "folded")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var burn, burnSpan, lockFrame int64
	var stacks []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseInt(line[i+1:], 10, 64)
		if err != nil {
			t.Fatalf("line %q", line)
		}
		stack := line[:i]
		stacks = append(stacks, stack)
		switch {
		case strings.HasPrefix(stack, "five: request;five: cpu-burn;") && strings.Contains(stack, "fivespans.burn"):
			burn += v
		case stack == "five: request;five: cpu-burn":
			burnSpan += v
		case stack == "five: request;five: update-orders;five: lock.wait orders;(lock: orders)":
			lockFrame += v
		}
	}
	// The CPU profile sampled about Slow of burn; a busy machine makes the
	// running time longer than the CPU time, and what no sample covers
	// stays the span's own.
	if burn < fivespans.Slow.Nanoseconds()/3 || burnSpan < 0 {
		t.Errorf("cpu-burn: %d ns of burn stacks above it, %d ns of its own time left\n%s", burn, burnSpan, strings.Join(stacks, "\n"))
	}
	if lockFrame < fivespans.Slow.Nanoseconds()/4 {
		t.Errorf("(lock: orders): %d ns", lockFrame)
	}
	if slices.ContainsFunc(stacks, func(s string) bool {
		return strings.Contains(s, "(lock: orders);") || strings.Contains(s, "(syscall);")
	}) {
		t.Error("CPU stacks above an off-CPU state frame")
	}
}

// An execution trace without markers, a cut one, and one in the wrong place
// each say so.
func TestExecInputErrors(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.trace")
	var buf bytes.Buffer
	if trace.IsEnabled() {
		t.Skip("an execution trace is already recording")
	}
	if err := trace.Start(&buf); err != nil {
		t.Fatal(err)
	}
	trace.Stop()
	if err := os.WriteFile(plain, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	const five = "../../internal/exectrace/testdata/five.trace"
	full, err := os.ReadFile(five)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.trace")
	if err := os.WriteFile(cut, full[:len(full)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "broken.trace")
	if err := os.WriteFile(broken, full[:200], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no markers", []string{"report", plain}, 2, "plain.trace: offset 0: no samples: expected spans marked by tracekit in the execution trace"},
		{"cut inside the first part", []string{"report", broken}, 2, "broken.trace: offset 200: corrupt input: expected an execution trace with at least one complete part"},
		{"exec trace after a profile", []string{"../../internal/exectrace/testdata/five.cpu.pb.gz", five}, 2, "with several inputs the traces come first"},
		{"two exec traces", []string{"report", five, five}, 2, "expected a Go execution trace after the traces, not another input"},
		{"larger than --max-size", []string{"report", "--max-size", "16KiB", five}, 2, "five.trace: offset 16384: input too large: expected at most 16384 bytes of execution trace"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := flamegen(t, "", tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.msg) || strings.Count(errOut, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want %d and one line with %q", code, errOut, tt.code, tt.msg)
			}
		})
	}
	// Spans of another run: said, and reported without states.
	out, errOut, code := flamegen(t, "", "report", reportInput, five)
	if code != 0 || !strings.Contains(errOut, "no span of "+reportInput+" is marked in the execution trace: no runtime states") ||
		!strings.Contains(out, "none: no span of the traces is marked in the execution trace") {
		t.Errorf("unmatched spans: exit %d, stderr %q\n%s", code, errOut, out)
	}
	// Cut after its first part: the spans read so far, and a warning.
	out, errOut, code = flamegen(t, "", "report", "--json", cut)
	if code != 0 || !strings.Contains(errOut, "cut.trace: warning: ") || !strings.Contains(errOut, "cut short (") || !strings.Contains(out, `"frame": "request"`) {
		t.Errorf("cut: exit %d, stderr %q\n%s", code, errOut, out)
	}
}

// The spans may come from Jaeger's query API and the execution trace from a
// file: the spans are matched by ID, their microsecond times lined up with
// the markers.
func TestExecWithJaeger(t *testing.T) {
	f := recordFive(t)
	set, err := spans.Read(mustOpen(t, f.spans), f.spans)
	if err != nil {
		t.Fatal(err)
	}
	body := jaegerJSON(set)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer srv.Close()
	id := f.did.Spans[fivespans.Root].TraceID.String()
	rep := reportJSON(t, "--jaeger", srv.URL, "--trace", id, f.exec)
	for _, fr := range rep.Frames {
		if fr.Frame == "five: request › five: update-orders" {
			if dominant(fr.States) != "lock" || len(fr.Waits) == 0 || fr.Waits[0].ReleasedBy != "five: hold-orders" {
				t.Errorf("update-orders: %v, %+v", fr.States, fr.Waits)
			}
			return
		}
	}
	t.Errorf("no frame five: request › five: update-orders in %+v", rep.Frames)
}

func mustOpen(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// jaegerJSON writes set as Jaeger's /api/traces answer, times in
// microseconds as Jaeger keeps them.
func jaegerJSON(set *spans.Set) []byte {
	type ref struct {
		RefType string `json:"refType"`
		TraceID string `json:"traceID"`
		SpanID  string `json:"spanID"`
	}
	type jspan struct {
		TraceID   string `json:"traceID"`
		SpanID    string `json:"spanID"`
		Operation string `json:"operationName"`
		Refs      []ref  `json:"references"`
		Start     int64  `json:"startTime"`
		Duration  int64  `json:"duration"`
		ProcessID string `json:"processID"`
	}
	type jtrace struct {
		TraceID   string                       `json:"traceID"`
		Spans     []jspan                      `json:"spans"`
		Processes map[string]map[string]string `json:"processes"`
	}
	var out struct {
		Data []jtrace `json:"data"`
	}
	set.Each(func(x *spans.Trace) error {
		jt := jtrace{TraceID: x.Spans[0].TraceID.String(), Processes: map[string]map[string]string{"p1": {"serviceName": "five"}}}
		for _, sp := range x.Spans {
			js := jspan{TraceID: jt.TraceID, SpanID: sp.ID.String(), Operation: sp.Name, Start: sp.Start / 1000, Duration: sp.Duration() / 1000, ProcessID: "p1"}
			if !sp.Parent.IsZero() {
				js.Refs = []ref{{"CHILD_OF", jt.TraceID, sp.Parent.String()}}
			}
			jt.Spans = append(jt.Spans, js)
		}
		out.Data = append(out.Data, jt)
		return nil
	})
	b, _ := json.Marshal(out)
	return b
}

// The input after a span file is opened once to see whether it is an
// execution trace: a profile URL is fetched once, and a profile on standard
// input is read.
func TestProfileAfterSpansOpenedOnce(t *testing.T) {
	f := recordFive(t)
	cpu, err := os.ReadFile(f.cpu)
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write(cpu)
	}))
	defer srv.Close()
	out, errOut, code := flamegen(t, "", f.spans, srv.URL+"/debug/pprof/profile", "--format", "folded")
	if code != 0 || !strings.Contains(out, "fivespans.burn") || hits.Load() != 1 {
		t.Errorf("URL: exit %d, %d requests, stderr %s", code, hits.Load(), errOut)
	}
	out, errOut, code = flamegen(t, string(cpu), f.spans, "-", "--format", "folded")
	if code != 0 || !strings.Contains(out, "fivespans.burn") {
		t.Errorf("stdin: exit %d, stderr %s", code, errOut)
	}
}
