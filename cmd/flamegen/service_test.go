package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Traces of one service drop "service: " from every frame and say the
// service once, in the subtitle; traces of several keep it.
func TestServicePrefix(t *testing.T) {
	dir := t.TempDir()
	one := filepath.Join(dir, "one.jsonl")
	if err := os.WriteFile(one, []byte(traceFile(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	title := regexp.MustCompile(`<title>([^(<]*) \(`)
	names := func(svg string) []string {
		var out []string
		for _, m := range title.FindAllStringSubmatch(svg, -1) {
			out = append(out, m[1])
		}
		return out
	}

	out, errOut, code := flamegen(t, "", one)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	got := names(out)
	if len(got) < 4 || !strings.Contains(out, `<text id="subtitle" x="600" y="42">service unknown_service:flamegen.test · `) {
		t.Fatalf("one service: frames %q, subtitle missing the service", got)
	}
	for _, n := range got {
		if strings.Contains(n, "unknown_service") {
			t.Errorf("frame %q keeps the service", n)
		}
	}
	if folded, _, _ := flamegen(t, "", "--format", "folded", one); !strings.Contains(folded, "unknown_service:flamegen.test: checkout;") {
		t.Errorf("folded output lost the service, which only the picture drops:\n%s", folded)
	}

	out, errOut, code = flamegen(t, "", "../../internal/spans/testdata/traces.jsonl")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	services := map[string]bool{}
	for _, n := range names(out) {
		if svc, _, ok := strings.Cut(n, ": "); ok {
			services[svc] = true
		}
	}
	if len(services) != 5 || strings.Contains(out, ">service ") {
		t.Errorf("five services: frames name %v", services)
	}
}
