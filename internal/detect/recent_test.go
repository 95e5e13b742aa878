package detect

import (
	"context"
	"fmt"
	"testing"

	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// The ring keeps the last RecentKept reports a detector emitted, newest
// first, trims each (no goroutine dump, at most recentTasks tasks), and
// counts every one.
func TestRecentReports(t *testing.T) {
	d, _ := testDetector(Config{})
	defer d.Close()
	tasks := make([]inspect.Task, recentTasks+3)
	for i := range tasks {
		tasks[i] = inspect.Task{ID: uint64(i + 1), Name: fmt.Sprint("t", i+1)}
	}
	const n = 3*RecentKept + 7
	for i := range n {
		d.Emit(context.Background(), inspect.Report{Kind: inspect.KindHang, Message: fmt.Sprint("report ", i), Tasks: tasks, Goroutines: make([]byte, 1<<10)})
	}
	kept, total := d.Recent()
	if total != n || len(kept) != RecentKept {
		t.Fatalf("kept %d of %d, want %d of %d", len(kept), total, RecentKept, n)
	}
	for i, k := range kept {
		if want := fmt.Sprint("report ", n-1-i); k.Message != want {
			t.Fatalf("kept[%d] = %q, want %q", i, k.Message, want)
		}
		if len(k.Tasks) != recentTasks || k.MoreTasks != 3 || k.Tasks[0] != (KeptTask{1, "t1"}) {
			t.Fatalf("kept[%d] tasks %v, %d more", i, k.Tasks, k.MoreTasks)
		}
	}
}

func BenchmarkReportRingAdd(b *testing.B) {
	var q reportRing
	r := inspect.Report{Kind: inspect.KindHang, Message: "hang", Tasks: []inspect.Task{{ID: 1, Name: "x"}}}
	b.ReportAllocs()
	for b.Loop() {
		q.add(&r)
	}
}
