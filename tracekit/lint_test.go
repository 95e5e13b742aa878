package tracekit

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// runSweep runs d's lint sweep with cfg for dur of the bubble's fake time,
// as a running SDK's would, and stops it with d.
func runSweep(d *detect.Detector, cfg detect.LintConfig, dur time.Duration) {
	d.StartLints(cfg)
	time.Sleep(dur)
	synctest.Wait()
	d.Close()
}

// about returns the reports of kind whose Tasks include id.
func about(reps []inspect.Report, kind inspect.Kind, id uint64) []inspect.Report {
	var out []inspect.Report
	for _, r := range reps {
		if r.Kind == kind && slices.ContainsFunc(r.Tasks, func(ti inspect.Task) bool { return ti.ID == id }) {
			out = append(out, r)
		}
	}
	return out
}

func TestLintOrphan(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, reps := testDetector(detect.Config{}, nil)
		defer d.Close()
		start := func(name string, parentFor, childFor time.Duration) (parent, child *Task) {
			kids := make(chan *Task, 1)
			parent = Go(context.Background(), name+" parent", func(ctx context.Context) error {
				kids <- Go(ctx, name, func(context.Context) error { time.Sleep(childFor); return nil })
				time.Sleep(parentFor)
				return nil
			})
			return parent, <-kids
		}
		t0 := time.Now()
		_, orphan := start("orphan", 0, 50*time.Second)             // outlives its parent by 50s
		_, late := start("late", 40*time.Second, 100*time.Second)   // by 60s, from 40s on
		_, detached := start("detached", 0, 20*time.Second)         // detached on purpose, ends within the grace
		_, waited := start("child", 60*time.Second, 40*time.Second) // its parent outlives it
		runSweep(d, detect.LintConfig{Interval: time.Second, Orphan: 30 * time.Second, OrphanOn: true}, 110*time.Second)
		all := reps.All()
		for _, tc := range []struct {
			task *Task
			at   time.Duration // the report is due 30s after the first sweep that sees the parent gone, at most this
		}{{orphan, 31 * time.Second}, {late, 71 * time.Second}} {
			if got := about(all, inspect.KindOrphanTask, tc.task.ID()); len(got) != 1 {
				t.Errorf("%s: %d reports, want 1 (once per task)", tc.task.Name(), len(got))
			} else if r := got[0]; r.Duration != 30*time.Second || r.Time.Sub(t0) < tc.at-time.Second || r.Time.Sub(t0) > tc.at ||
				!strings.Contains(r.Message, fmt.Sprintf("parent task %d ended", tc.task.rec.Parent)) {
				t.Errorf("%s: %s (%v, at %v)", tc.task.Name(), r.Message, r.Duration, r.Time.Sub(t0))
			}
		}
		for _, tk := range []*Task{detached, waited} {
			if got := about(all, inspect.KindOrphanTask, tk.ID()); len(got) != 0 {
				t.Errorf("%s reported: %s", tk.Name(), got[0].Message)
			}
		}
	})
}

// spawnLeak and spawnPool each start tasks from a spawn site of their own.
func spawnLeak(ctx context.Context, release chan struct{}) *Task {
	return Go(ctx, "leak", func(context.Context) error { <-release; return nil })
}

func spawnPool(ctx context.Context, release chan struct{}) *Task {
	return Go(ctx, "worker", func(context.Context) error { <-release; return nil })
}

func TestLintSpawnGrowth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, reps := testDetector(detect.Config{}, nil)
		defer d.Close()
		release := make(chan struct{})
		var tasks []*Task
		ctx := context.Background()
		spawned := make(chan struct{})
		go func() {
			defer close(spawned)
			for i := range 38 {
				// The leak: 3 more tasks every 5s that never end.
				for range 3 {
					tasks = append(tasks, spawnLeak(ctx, release))
				}
				// The pool: 10 more workers at each of the first 4
				// samples, then the same 40.
				if i < 4 {
					for range 10 {
						tasks = append(tasks, spawnPool(ctx, release))
					}
				}
				time.Sleep(5 * time.Second)
			}
		}()
		runSweep(d, detect.LintConfig{Interval: time.Second, GrowthSamples: 12, GrowthEvery: 5 * time.Second, GrowthMinRise: 10}, 195*time.Second)
		<-spawned
		close(release)
		for _, tk := range tasks {
			_ = tk.Wait()
		}

		var leak, pool []inspect.Report
		for _, r := range reps.All() {
			switch {
			case r.Kind != inspect.KindSpawnGrowth:
			case strings.Contains(r.SpawnSite, "spawnLeak"):
				leak = append(leak, r)
			case strings.Contains(r.SpawnSite, "spawnPool"):
				pool = append(pool, r)
			}
		}
		if len(pool) != 0 {
			t.Errorf("a pool that stopped growing was reported: %s", pool[0].Message)
		}
		if len(leak) != 1 {
			t.Fatalf("leak: %d reports, want 1 (once per episode)", len(leak))
		}
		r := leak[0]
		// Twelve samples from the first: 3 ... 36 tasks, reported at the
		// 12th sample, 55s after the first.
		if r.Count != 36 || r.Duration != 55*time.Second || len(r.Tasks) != 5 || r.Tasks[0].Name != "leak" ||
			!strings.Contains(r.Message, "rose from 3 to 36") || !strings.Contains(r.SpawnSite, "lint_test.go:") {
			t.Errorf("leak: %s (count %d, %v, %d tasks)", r.Message, r.Count, r.Duration, len(r.Tasks))
		}
	})
}

// TestLintSpawnGrowthEpisodes: a site that leaks, recovers (its tasks end)
// and leaks again is reported once per leak.
func TestLintSpawnGrowthEpisodes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, reps := testDetector(detect.Config{}, nil)
		defer d.Close()
		ctx := context.Background()
		done := make(chan struct{})
		// One task of the site runs throughout, so the site stays known
		// between the leaks.
		stay := make(chan struct{})
		keeper := spawnLeak(ctx, stay)
		go func() {
			defer close(done)
			for range 2 {
				release := make(chan struct{})
				var tasks []*Task
				for range 16 { // 80s of growth
					for range 3 {
						tasks = append(tasks, spawnLeak(ctx, release))
					}
					time.Sleep(5 * time.Second)
				}
				close(release)
				for _, tk := range tasks {
					_ = tk.Wait()
				}
				time.Sleep(70 * time.Second) // more than a window with none
			}
		}()
		runSweep(d, detect.LintConfig{Interval: time.Second, GrowthSamples: 12, GrowthEvery: 5 * time.Second, GrowthMinRise: 10}, 310*time.Second)
		<-done
		close(stay)
		_ = keeper.Wait()
		n := 0
		for _, r := range reps.All() {
			if r.Kind == inspect.KindSpawnGrowth && strings.Contains(r.SpawnSite, "spawnLeak") {
				n++
			}
		}
		if n != 2 {
			t.Errorf("%d reports for two leaks, want 2", n)
		}
	})
}
