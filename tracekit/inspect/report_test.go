package inspect

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestReportString(t *testing.T) {
	pcs := make([]uintptr, 8)
	pcs = pcs[:runtime.Callers(1, pcs)]
	r := Report{Kind: KindLongHold, Message: `"db" was held for 2s`, Stacks: []Stack{{Label: "released here", PC: pcs}}, TraceFile: "x.trace",
		Tasks: []Task{{ID: 7, Name: "flush", SpawnFunction: "main.run", SpawnFile: "main.go", SpawnLine: 12,
			WaitingOn: `lock "db"`, WaitingSince: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Goroutine: 40, Stack: "main.flush()\n\tmain.go:20\n"}}}
	s := r.String()
	for _, want := range []string{"tracekit long-hold: \"db\" was held for 2s", "execution trace: x.trace", "released here:", "TestReportString", "report_test.go:",
		`task 7 "flush", waiting on lock "db" since 03:04:05.000, started at main.run (main.go:12)`, "goroutine 40 is now at:", "    main.flush()"} {
		if !strings.Contains(s, want) {
			t.Errorf("Report.String() lacks %q:\n%s", want, s)
		}
	}
	for k, want := range map[Kind]string{KindLockOrder: "lock-order", KindRecursiveLock: "recursive-lock", KindHang: "hang", KindDeadlock: "deadlock",
		KindLongHold: "long-hold", KindMemory: "memory", KindSpawnGrowth: "spawn-growth", KindOrphanTask: "orphan-task"} {
		if string(k) != want {
			t.Errorf("%q, want %q", k, want)
		}
	}
}

func TestTaskStateAndSite(t *testing.T) {
	var task Task
	if task.State() != TaskRunning || task.SpawnSite() != "" {
		t.Errorf("zero task: %s %q", task.State(), task.SpawnSite())
	}
	task = Task{WaitingOn: `receive from "jobs"`, SpawnFunction: "main.run", SpawnFile: "/src/main.go", SpawnLine: 9}
	if task.State() != TaskWaiting || task.SpawnSite() != "main.run (/src/main.go:9)" {
		t.Errorf("waiting task: %s %q", task.State(), task.SpawnSite())
	}
}

// A report encodes to JSON with its stacks as places, not program counters.
func TestReportJSON(t *testing.T) {
	pcs := make([]uintptr, 8)
	pcs = pcs[:runtime.Callers(1, pcs)]
	_, _, line, _ := runtime.Caller(0)
	b, err := json.Marshal(Report{Kind: KindLockOrder, Message: "m", Stacks: []Stack{{Label: "here", PC: pcs}}})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Kind   string
		Stacks []struct {
			Label  string `json:"label"`
			Frames []struct {
				Function string `json:"function"`
				File     string `json:"file"`
				Line     int    `json:"line"`
			} `json:"frames"`
		}
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Kind != "lock-order" || len(got.Stacks) != 1 || got.Stacks[0].Label != "here" || len(got.Stacks[0].Frames) == 0 {
		t.Fatalf("decoded %+v from %s", got, b)
	}
	f := got.Stacks[0].Frames[0]
	if !strings.HasSuffix(f.Function, "inspect.TestReportJSON") || !strings.HasSuffix(f.File, "report_test.go") || f.Line != line-1 {
		t.Errorf("first frame %+v, want TestReportJSON at report_test.go:%d", f, line-1)
	}
}
