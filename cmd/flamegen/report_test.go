package main

import (
	"regexp"
	"strings"
	"testing"
)

// The spans package's generated traces have lock waits and channel blocks
// (tracekit.kind) under spans whose names hold ids.
const reportInput = "../../internal/spans/testdata/traces.jsonl"

func TestReport(t *testing.T) {
	out, errOut, code := flamegen(t, "", "report", "--top", "3", "--group-ids", reportInput)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	again, _, _ := flamegen(t, "", "report", "--top", "3", "--group-ids", reportInput)
	if again != out {
		t.Error("two runs differ")
	}
	sections := strings.Split(out, "\n\n")
	if len(sections) != 5 {
		t.Fatalf("%d sections, want a heading and 4:\n%s", len(sections), out)
	}
	if !strings.HasPrefix(sections[0], reportInput+": 12 traces, ") {
		t.Errorf("heading %q", sections[0])
	}
	for i, want := range []string{"Slowest sections", "Longest lock waits and channel blocks", "Critical path", "Slowest traces"} {
		lines := strings.Split(strings.TrimSpace(sections[i+1]), "\n")
		if !strings.HasPrefix(lines[0], want) || len(lines) != 2+3 {
			t.Errorf("section %d: want %q with a header and 3 rows:\n%s", i+1, want, sections[i+1])
		}
	}
	waits := strings.Split(sections[2], "\n")
	if !strings.Contains(waits[2], "lock wait") || !strings.Contains(waits[2], "GET /users/{id} › frontend: publish › frontend: lock cart.mu") {
		t.Errorf("the longest wait is the 6 ms lock wait on cart.mu:\n%s", sections[2])
	}
	if !strings.Contains(sections[3], "of 12") {
		t.Errorf("critical path rows count traces:\n%s", sections[3])
	}
	// The slowest traces, slowest first, each with an ID --trace accepts.
	var walls []string
	for _, line := range strings.Split(strings.TrimSpace(sections[4]), "\n")[2:] {
		id := regexp.MustCompile(`\b[0-9a-f]{32}\b`).FindString(line)
		if id == "" {
			t.Fatalf("slowest trace row has no trace ID: %q", line)
		}
		walls = append(walls, strings.Fields(line)[0])
		chart, errOut, code := flamegen(t, "", "--trace", id, "--format", "folded", reportInput)
		if code != 0 || chart == "" {
			t.Errorf("--trace %s from the report: exit %d: %s", id, code, errOut)
		}
	}
	if len(walls) != 3 {
		t.Errorf("slowest traces: %v", walls)
	}

	md, errOut, code := flamegen(t, "", "report", "--markdown", "--top", "2", reportInput)
	if code != 0 {
		t.Fatalf("markdown: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"# " + reportInput, "\n## Slowest sections", "| self | of wall |", "|---|", "\n## Critical path"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestReportErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no input", []string{"report"}, "expected one trace input"},
		{"a profile", []string{"report", "-"}, "expected traces"},
		{"bad weight", []string{"report", "--weight", "max", reportInput}, `--weight "max"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := flamegen(t, "main;f 3\n", tt.args...)
			if code != 2 || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, tt.want)
			}
		})
	}
}

// Aggregated trace graphs say in each span frame's tooltip how many spans
// it holds and how long they ran, and --slow outlines the frames with a
// span at least that long. A reversed graph has other frames: neither
// applies there, and nothing breaks.
func TestSpanNotesAndSlow(t *testing.T) {
	out, errOut, code := flamegen(t, "", "--group-ids", "--slow", "35ms", reportInput)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{`"notes":[`, "spans, mean ", "lock wait: 1 span of 6.007ms", "of 12 traces", "Outlined thin: 1 frame with a span of 35ms or longer (--slow)"} {
		if !strings.Contains(out, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if !regexp.MustCompile(`; on the critical path [0-9.]+m?s in 1[0-2]? of 12 traces"`).MatchString(out) {
		t.Error("no tooltip says a frame's critical-path time")
	}
	if !regexp.MustCompile(`"hl":\[\d+\]`).MatchString(out) {
		t.Error("the slow frame is not in the outlined list")
	}
	rev, errOut, code := flamegen(t, "", "--reverse", "--slow", "35ms", reportInput)
	if code != 0 || strings.Contains(rev, `"notes"`) || strings.Contains(rev, "--slow") {
		t.Errorf("reversed: exit %d %s; notes or outlines of the unreversed frames leaked in", code, errOut)
	}
	if _, errOut, code := flamegen(t, "", "--slow", "-1s", reportInput); code != 2 || !strings.Contains(errOut, "--slow") {
		t.Errorf("negative --slow: exit %d %s", code, errOut)
	}
}

// report --json prints every frame as the text report names it, slowest
// sections first, and the slowest traces; without an execution trace no
// frame has states.
func TestReportJSON(t *testing.T) {
	rep := reportJSON(t, "--group-ids", reportInput)
	text, _, _ := flamegen(t, "", "report", "--group-ids", "--top", "1", reportInput)
	first := strings.Split(strings.Split(text, "\n\n")[1], "\n")[2]
	if len(rep.Frames) == 0 || !strings.HasSuffix(first, "  "+rep.Frames[0].Frame) {
		t.Fatalf("first frame %+v, the text report's first row %q", rep.Frames, first)
	}
	for _, f := range rep.Frames {
		if f.States != nil || f.StateFrame {
			t.Errorf("%s: states without an execution trace", f.Frame)
		}
	}
	if rep.Input != reportInput {
		t.Errorf("input %q", rep.Input)
	}
}
