package detect

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/internal/tasks"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

func TestRising(t *testing.T) {
	for _, tc := range []struct {
		name   string
		counts []int
		want   bool
	}{
		{"steady leak", []int{3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36}, true},
		{"leak with a pause", []int{10, 12, 14, 14, 16, 18, 20, 22, 24, 26, 28, 30}, true},
		{"leak with one dip", []int{10, 12, 14, 13, 16, 18, 20, 22, 24, 26, 28, 30}, true},
		{"flat", []int{50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50}, false},
		{"pool grows then stays", []int{10, 20, 30, 40, 40, 40, 40, 40, 40, 40, 40, 40}, false},
		{"noise", []int{50, 52, 49, 51, 53, 50, 48, 51, 52, 50, 49, 51}, false},
		{"rise too small", []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 10}, false},
		{"rise small beside the size", []int{1000, 1002, 1004, 1006, 1008, 1010, 1012, 1014, 1016, 1018, 1020, 1022}, false},
		{"not at its highest", []int{10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 40, 30}, false},
		{"mostly down", []int{40, 36, 32, 28, 24, 20, 60, 61, 62, 63, 64, 65}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rising(tc.counts, 10); got != tc.want {
				t.Errorf("rising(%v) = %v, want %v", tc.counts, got, tc.want)
			}
		})
	}
}

// BenchmarkLintSweep measures one sweep of the lints over 1,000 and 10,000
// live tasks (children of one running task, one in ten waiting on a
// channel), beside the registry listing the console makes on every view.
// "sample" takes a spawn-growth sample in every sweep, which the default
// configuration does in one sweep in five.
func BenchmarkLintSweep(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		d := New(Config{})
		release := make(chan struct{})
		var bound sync.WaitGroup
		parent := &tasks.Record{ID: 1 << 62, Name: "parent", Site: tasks.SiteOf(0, semconv.KindGoroutine), Start: time.Now()}
		for i := range n + 1 {
			bound.Add(1)
			go func() {
				r := parent
				if i > 0 {
					r = &tasks.Record{ID: parent.ID + uint64(i), Name: "child", Parent: parent.ID, Site: tasks.SiteOf(0, semconv.KindGoroutine), Start: time.Now()}
				}
				r.Bind()
				if i%10 == 1 {
					r.BeginWait("receive from", "jobs", nil)
				}
				bound.Done()
				<-release
				r.Unbind()
			}()
		}
		bound.Wait()
		b.Run(fmt.Sprintf("tasks=%d/Snapshot", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = inspect.Tasks()
			}
		})
		for _, sample := range []bool{false, true} {
			name := "sweep"
			cfg := LintConfig{Interval: DefaultLintInterval, Orphan: DefaultOrphanGrace, OrphanOn: true,
				GrowthSamples: DefaultGrowthSamples, GrowthEvery: DefaultGrowthInterval, GrowthMinRise: DefaultGrowthMinRise}
			if sample {
				name, cfg.GrowthEvery, cfg.Interval = "sweep+sample", 0, 0
			}
			b.Run(fmt.Sprintf("tasks=%d/%s", n, name), func(b *testing.B) {
				s := &lintSweep{l: NewLinter(cfg), d: d}
				b.ReportAllocs()
				for b.Loop() {
					s.sweep(time.Now())
				}
			})
		}
		close(release)
		d.Close()
	}
}
