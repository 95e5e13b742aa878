package semconv

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// constants returns the package's string constants by name, read from its
// source so that a constant added without a row in the table is noticed.
func constants(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "semconv.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				v, err := strconv.Unquote(vs.Values[i].(*ast.BasicLit).Value)
				if err != nil {
					t.Fatal(err)
				}
				out[n.Name] = v
			}
		}
	}
	return out
}

// section returns the part of docs/attributes.md under the heading title.
func section(t *testing.T, doc, title string) string {
	t.Helper()
	_, rest, ok := strings.Cut(doc, "\n## "+title+"\n")
	if !ok {
		t.Fatalf("docs/attributes.md has no section %q", title)
	}
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// row returns the table row of section sec whose first cell is `key`.
func row(sec, key string) string {
	for _, line := range strings.Split(sec, "\n") {
		if strings.HasPrefix(line, "| `"+key+"` |") {
			return line
		}
	}
	return ""
}

var backticked = regexp.MustCompile("`([^`]+)`")

func ticks(s string) []string {
	var out []string
	for _, m := range backticked.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestDocsTableAgrees checks docs/attributes.md against the constants: every
// key has its row or mention where a reader looks for it, every value of an
// enumerated attribute is listed in that attribute's row, and every
// tracekit.* attribute the document names is a constant here.
func TestDocsTableAgrees(t *testing.T) {
	data, err := os.ReadFile("../../docs/attributes.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	spanAttrs := section(t, doc, "Span attributes")
	events := section(t, doc, "Span events and status")
	labels := section(t, doc, "pprof labels")
	metrics := section(t, doc, "Metrics")
	c := constants(t)
	inRow := func(sec, secName, key string, values ...string) {
		t.Helper()
		r := row(sec, key)
		if r == "" {
			t.Errorf("docs/attributes.md, %s: no row for `%s`", secName, key)
			return
		}
		have := ticks(r)
		for _, v := range values {
			if !slices.Contains(have, v) {
				t.Errorf("docs/attributes.md, %s: the row of `%s` does not list `%s`", secName, key, v)
			}
		}
	}
	var kinds, reports []string
	for name, v := range c {
		switch {
		case strings.HasPrefix(name, "Kind"):
			kinds = append(kinds, v)
		case strings.HasPrefix(name, "Report") && name != "ReportEvent" && name != "ReportKind" &&
			name != "ReportMessage" && name != "ReportStacks" && name != "ReportTasks":
			reports = append(reports, v)
		}
	}
	inRow(spanAttrs, "Span attributes", c["Kind"], kinds...)
	for _, k := range []string{"Group", "GroupLimit", "Panic", "Canceled", "CancelCause", "LockName", "LockMode", "ChanName", "WaitNS", "HoldNS", "ProfileID", "FlightFile"} {
		inRow(spanAttrs, "Span attributes", c[k])
	}
	eventKeys := []string{c["ReportEvent"], c["ReportKind"], c["ReportMessage"], c["ReportStacks"], c["ReportTasks"],
		c["SpawnSite"], c["TaskCount"], c["MemoryUsed"], c["MemoryLimit"], c["MemoryLimitSource"], c["MemoryLiveHeap"], c["LogLevel"], c["FlightFile"]}
	have := ticks(events)
	for _, k := range append(eventKeys, reports...) {
		if !slices.Contains(have, k) {
			t.Errorf("docs/attributes.md, Span events and status: `%s` is not mentioned", k)
		}
	}
	for _, k := range []string{"LabelSpanID", "LabelSpanName", "LabelTraceID", "LabelTaskID"} {
		inRow(labels, "pprof labels", c[k])
	}
	inRow(metrics, "Metrics", "tracekit.task.count", c["TaskName"])
	inRow(metrics, "Metrics", "tracekit.export.spans", c["Outcome"])
	if !strings.Contains(doc, "`"+c["LogTraceID"]+"`") || !strings.Contains(doc, "`"+c["LogSpanID"]+"`") {
		t.Error("docs/attributes.md does not name the log records' trace and span ID keys")
	}

	// The other way: every tracekit.* attribute the tables name, other than
	// metric instruments, is a constant.
	known := map[string]bool{}
	for _, v := range c {
		known[v] = true
	}
	instruments := map[string]bool{}
	for _, line := range strings.Split(metrics, "\n") {
		if cells := strings.Split(line, "|"); len(cells) > 2 {
			for _, k := range ticks(cells[1]) {
				instruments[k] = true
			}
		}
	}
	for _, sec := range []string{spanAttrs, events} {
		for _, k := range ticks(sec) {
			if attrName.MatchString(k) && !known[k] && !instruments[k] {
				t.Errorf("docs/attributes.md names %q, which is not a constant of package semconv", k)
			}
		}
	}
}

// attrName matches a tracekit attribute key, as opposed to a Go name such
// as tracekit.Go.
var attrName = regexp.MustCompile(`^tracekit\.[a-z][a-z0-9_.]*$`)
