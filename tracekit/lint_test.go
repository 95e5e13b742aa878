package tracekit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tracekit-go/tracekit/internal/env"
	"github.com/tracekit-go/tracekit/internal/goid"
	"github.com/tracekit-go/tracekit/internal/tasks"
	"github.com/tracekit-go/tracekit/internal/testwait"
)

// lintTestConfig is a lint configuration with every lint off and a 1s
// sweep; tests turn on what they check.
func lintTestConfig() lintConfig {
	return lintConfig{interval: time.Second, growthEvery: time.Second}
}

// runSweep runs a sweep of cfg over d for dur of the bubble's fake time,
// as the Kit's would, and stops it.
func runSweep(cfg lintConfig, d *detector, dur time.Duration) {
	s := newLintSweep(cfg, d)
	go s.run()
	time.Sleep(dur)
	synctest.Wait()
	s.close()
}

// about returns the reports of kind whose Tasks include id.
func about(reps []Report, kind ReportKind, id uint64) []Report {
	var out []Report
	for _, r := range reps {
		if r.Kind == kind && slices.ContainsFunc(r.Tasks, func(ti TaskInfo) bool { return ti.ID == id }) {
			out = append(out, r)
		}
	}
	return out
}

func needWaits(t *testing.T) {
	t.Helper()
	if !goid.Fast {
		t.Skip("a goroutine cannot find its task here, so waits are not listed")
	}
}

func TestLintBlocked(t *testing.T) {
	needWaits(t)
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now() // the waits start now: the bubble's clock stands still until all block
		d, reps := testDetector(detectorConfig{}, nil)
		defer d.close()
		ctx := context.Background()
		never, soon, twice := make(chan int), make(chan int), make(chan int)
		stuck := Go(ctx, "stuck", func(ctx context.Context) error {
			_, err := recv(ctx, d, "never", never)
			return err
		})
		quick := Go(ctx, "quick", func(ctx context.Context) error {
			_, err := recv(ctx, d, "soon", soon)
			return err
		})
		// Two separate waits past the threshold: two reports.
		again := Go(ctx, "again", func(ctx context.Context) error {
			for range 2 {
				if _, err := recv(ctx, d, "twice", twice); err != nil {
					return err
				}
			}
			return nil
		})
		go func() {
			time.Sleep(5 * time.Second)
			soon <- 1 // a 5s wait: under the threshold
			time.Sleep(7 * time.Second)
			twice <- 1 // after 12s
			time.Sleep(20 * time.Second)
			twice <- 2 // after 20s more
		}()
		cfg := lintTestConfig()
		cfg.blocked = 10 * time.Second
		runSweep(cfg, d, 60*time.Second)
		all := reps.all()
		if got := about(all, ReportBlocked, stuck.ID()); len(got) != 1 {
			t.Errorf("stuck: %d reports, want 1 (once per wait): %v", len(got), got)
		} else if r := got[0]; r.Lock != "never" || !r.IsChannel() || r.Duration < 10*time.Second || r.Duration > 12*time.Second ||
			!strings.Contains(r.Message, `receive from "never"`) || r.Tasks[0].Name != "stuck" {
			t.Errorf("stuck: %+v", r)
		} else if s := r.String(); !strings.Contains(s, fmt.Sprintf("\ntasks:\n  task %d \"stuck\", waiting on receive from \"never\" since %s, started at ", stuck.ID(), t0.Format("15:04:05.000"))) ||
			!strings.Contains(s, "TestLintBlocked") {
			t.Errorf("stuck's report as text:\n%s", s)
		}
		if got := about(all, ReportBlocked, quick.ID()); len(got) != 0 {
			t.Errorf("a 5s wait was reported: %v", got)
		}
		if got := about(all, ReportBlocked, again.ID()); len(got) != 2 {
			t.Errorf("two long waits: %d reports, want 2", len(got))
		}
		close(never)
		for _, tk := range []*Task{stuck, quick, again} {
			_ = tk.Wait()
		}
	})
}

func TestLintLockHeld(t *testing.T) {
	needWaits(t)
	if !locksTracked {
		t.Skip("tracekit_nosync: locks are plain sync locks")
	}
	for _, order := range []bool{false, true} {
		t.Run(fmt.Sprintf("order=%v", order), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d, reps := testDetector(detectorConfig{order: order, longHold: time.Second}, nil)
				defer d.close()
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				long, short := detectedMutex(d, "orders"), detectedMutex(d, "cache")
				locked := make(chan struct{})
				holder := Go(ctx, "holder", func(context.Context) error {
					long.Lock()
					short.Lock()
					close(locked)
					time.Sleep(500 * time.Millisecond)
					short.Unlock() // waited on for 0.5s: not reported while held
					time.Sleep(4500 * time.Millisecond)
					long.Unlock() // held 5s
					return nil
				})
				<-locked
				var waiters []*Task
				for i, mu := range []*Mutex{long, long, short} {
					waiters = append(waiters, Go(ctx, fmt.Sprintf("waiter %d", i), func(ctx context.Context) error {
						if err := mu.LockContext(ctx); err != nil {
							return err
						}
						mu.Unlock()
						return nil
					}))
				}
				cfg := lintTestConfig()
				cfg.held = 2 * time.Second
				runSweep(cfg, d, 10*time.Second)
				for _, w := range waiters {
					if err := w.Wait(); err != nil {
						t.Fatal(err)
					}
				}
				_ = holder.Wait()

				var lint, release []Report
				for _, r := range reps.all() {
					if r.Kind == ReportLongHold && r.Lock == "orders" {
						if len(r.Tasks) > 0 {
							lint = append(lint, r)
						} else {
							release = append(release, r)
						}
					}
					if r.Kind == ReportLongHold && r.Lock == "cache" && len(r.Tasks) > 0 {
						t.Errorf("a lock waited on for 0.5s was reported: %s", r.Message)
					}
				}
				if len(lint) != 1 || len(release) != 1 {
					t.Fatalf("orders: %d reports while held, %d at release; want 1 and 1", len(lint), len(release))
				}
				r := lint[0]
				if r.Duration < 2*time.Second || r.Duration > 3*time.Second || !strings.Contains(r.Message, "still held") ||
					!strings.Contains(r.Message, "2 waiting") {
					t.Errorf("while held: %s (%v)", r.Message, r.Duration)
				}
				var ids []uint64
				for _, ti := range r.Tasks {
					ids = append(ids, ti.ID)
				}
				// The holder is named either way: by the lock-order graph, or
				// by the holder the lock records.
				want := []uint64{holder.ID(), waiters[0].ID(), waiters[1].ID()}
				if !strings.Contains(r.Message, `held by task `+fmt.Sprint(holder.ID())+` "holder"`) {
					t.Errorf("holder not named: %s", r.Message)
				}
				slices.Sort(ids[len(ids)-2:])
				if !slices.Equal(ids, want) {
					t.Errorf("tasks %v, want %v (holder first, then the waiters)", ids, want)
				}
				if r := release[0]; !strings.Contains(r.Message, "was held for") || r.Duration < 4900*time.Millisecond {
					t.Errorf("at release: %s", release[0].Message)
				}
			})
		})
	}
}

func TestLintOrphan(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, reps := testDetector(detectorConfig{}, nil)
		defer d.close()
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
		cfg := lintTestConfig()
		cfg.orphan, cfg.orphanOn = 30*time.Second, true
		runSweep(cfg, d, 110*time.Second)
		all := reps.all()
		for _, tc := range []struct {
			task *Task
			at   time.Duration // the report is due 30s after the first sweep that sees the parent gone, at most this
		}{{orphan, 31 * time.Second}, {late, 71 * time.Second}} {
			if got := about(all, ReportOrphanTask, tc.task.ID()); len(got) != 1 {
				t.Errorf("%s: %d reports, want 1 (once per task)", tc.task.Name(), len(got))
			} else if r := got[0]; r.Duration != 30*time.Second || r.Time.Sub(t0) < tc.at-time.Second || r.Time.Sub(t0) > tc.at ||
				!strings.Contains(r.Message, fmt.Sprintf("parent task %d ended", tc.task.rec.Parent)) {
				t.Errorf("%s: %s (%v, at %v)", tc.task.Name(), r.Message, r.Duration, r.Time.Sub(t0))
			}
		}
		for _, tk := range []*Task{detached, waited} {
			if got := about(all, ReportOrphanTask, tk.ID()); len(got) != 0 {
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
		d, reps := testDetector(detectorConfig{}, nil)
		defer d.close()
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
		cfg := lintTestConfig()
		cfg.growthSamples, cfg.growthEvery, cfg.growthMinRise = 12, 5*time.Second, 10
		runSweep(cfg, d, 195*time.Second)
		<-spawned
		close(release)
		for _, tk := range tasks {
			_ = tk.Wait()
		}

		var leak, pool []Report
		for _, r := range reps.all() {
			switch {
			case r.Kind != ReportSpawnGrowth:
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
		if r.Count != 36 || r.Duration != 55*time.Second || len(r.Tasks) != maxReportTasks || r.Tasks[0].Name != "leak" ||
			!strings.Contains(r.Message, "rose from 3 to 36") || !strings.Contains(r.SpawnSite, "lint_test.go:") {
			t.Errorf("leak: %s (count %d, %v, %d tasks)", r.Message, r.Count, r.Duration, len(r.Tasks))
		}
	})
}

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

func TestLintFromConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		opts []Option
		want func(*lintConfig)
		errs int
	}{
		{name: "defaults", want: func(*lintConfig) {}},
		{
			name: "environment",
			env: map[string]string{env.LintInterval: "2s", env.LintBlocked: "1m", env.LintLockHeld: "0", env.LintOrphanGrace: "0",
				env.LintGrowthSamples: "20", env.LintGrowthInterval: "10s", env.LintGrowthMinRise: "100"},
			want: func(c *lintConfig) {
				c.interval, c.blocked, c.held, c.orphan, c.orphanOn = 2*time.Second, time.Minute, 0, 0, false
				c.growthSamples, c.growthEvery, c.growthMinRise = 20, 10*time.Second, 100
			},
		},
		{
			name: "bad values are reported and ignored",
			env:  map[string]string{env.LintBlocked: "soon", env.LintGrowthSamples: "2", env.LintGrowthMinRise: "-1"},
			want: func(*lintConfig) {}, errs: 3,
		},
		{
			name: "options win",
			env:  map[string]string{env.LintBlocked: "1m", env.LintGrowthSamples: "0"},
			opts: []Option{WithLintInterval(0), WithBlockedLint(time.Second), WithLockHeldLint(time.Hour), WithOrphanLint(time.Minute),
				WithSpawnGrowthLint(2, 0, 5)},
			want: func(c *lintConfig) {
				c.interval, c.blocked, c.held, c.orphan = 0, time.Second, time.Hour, time.Minute
				c.growthSamples, c.growthEvery, c.growthMinRise = 3, 0, 5
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cfg := &config{}
			for _, o := range tc.opts {
				o.apply(cfg)
			}
			var errs []error
			cfg.onError = func(err error) { errs = append(errs, err) }
			want := defaultLintConfig()
			tc.want(&want)
			if got := lintFromConfig(cfg); got != want {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
			if len(errs) != tc.errs {
				t.Errorf("errors %v, want %d", errs, tc.errs)
			}
			for _, err := range errs {
				if e := (*env.Error)(nil); !errors.As(err, &e) {
					t.Errorf("error %v is not an *env.Error", err)
				}
			}
		})
	}
}

// TestLintKit checks the sweep's life with a Kit: it starts with the Kit
// that installs the globals, reports through its handler, makes the
// console use the Kit's thresholds, and stops on Shutdown.
func TestLintKit(t *testing.T) {
	needWaits(t)
	got := make(chan Report, 16)
	kit, err := Start(context.Background(), WithTracesExporter(ExporterNone), WithMetricsExporter(ExporterNone),
		WithLintInterval(10*time.Millisecond), WithBlockedLint(50*time.Millisecond),
		WithReportHandler(func(r Report) {
			select {
			case got <- r:
			default:
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = kit.Shutdown(context.Background()) }()
	jobs := make(chan int)
	tk := Go(context.Background(), "idle", func(ctx context.Context) error { _, err := Recv(ctx, jobs); return err })
	select {
	case r := <-got:
		if r.Kind != ReportBlocked || len(r.Tasks) != 1 || r.Tasks[0].ID != tk.ID() {
			t.Errorf("report %v", r)
		}
	case <-time.After(testwait.Scale(time.Minute)):
		t.Fatal("no report")
	}
	// The console warns with the Kit's threshold (50ms, not its own 1s),
	// unless told otherwise.
	_, page := get(t, Handler(), "/?format=json")
	if !strings.Contains(page, "blocked for") || !strings.Contains(page, `"blocked ≥ 50ms"`) {
		t.Errorf("console without the Kit's warning:\n%s", page)
	}
	_, page = get(t, Handler(WithBlockedWarning(time.Hour)), "/?format=json")
	if strings.Contains(page, "blocked for") {
		t.Errorf("WithBlockedWarning(time.Hour) ignored:\n%s", page)
	}
	close(jobs)
	_ = tk.Wait()
	if err := kit.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if activeLint.Load() != nil {
		t.Error("the sweep is still the active one after Shutdown")
	}
}

// BenchmarkLintSweep measures one sweep of the lints over 1,000 and 10,000
// live tasks (children of one running task, one in ten waiting on a
// channel), beside Snapshot, the registry listing the console makes on
// every view. "sample" takes a spawn-growth sample in every sweep, which
// the default configuration does in one sweep in five.
func BenchmarkLintSweep(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		d := newDetector(detectorConfig{})
		release := make(chan struct{})
		ready := make(chan struct{})
		parent := Go(context.Background(), "parent", func(ctx context.Context) error {
			var kids []*Task
			for i := range n {
				kids = append(kids, Go(ctx, "child", func(ctx context.Context) error {
					if i%10 == 0 {
						_, err := recv(ctx, d, "jobs", release)
						return err
					}
					<-release
					return nil
				}))
			}
			close(ready)
			for _, k := range kids {
				_ = k.Wait()
			}
			return nil
		})
		<-ready
		for len(tasks.Append(nil)) < n+1 {
			time.Sleep(time.Millisecond)
		}
		b.Run(fmt.Sprintf("tasks=%d/Snapshot", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = Snapshot()
			}
		})
		for _, sample := range []bool{false, true} {
			name := "sweep"
			cfg := defaultLintConfig()
			if sample {
				name, cfg.growthEvery, cfg.interval = "sweep+sample", 0, 0
			}
			b.Run(fmt.Sprintf("tasks=%d/%s", n, name), func(b *testing.B) {
				s := newLintSweep(cfg, d)
				b.ReportAllocs()
				for b.Loop() {
					s.sweep(time.Now())
				}
			})
		}
		close(release)
		_ = parent.Wait()
		d.close()
	}
}

// TestLintKitHolder checks that with lock-order detection on, the report
// and the console name the task holding a lock others wait on.
func TestLintKitHolder(t *testing.T) {
	needWaits(t)
	if !locksTracked {
		t.Skip("tracekit_nosync: locks are plain sync locks")
	}
	got := make(chan Report, 16)
	kit, err := Start(context.Background(), WithTracesExporter(ExporterNone), WithMetricsExporter(ExporterNone),
		WithDeadlockDetection(true), WithLintInterval(10*time.Millisecond), WithLockHeldLint(50*time.Millisecond),
		WithBlockedLint(0), WithOrphanLint(0), WithSpawnGrowthLint(0, 0, 0),
		WithReportHandler(func(r Report) {
			if len(r.Tasks) > 0 {
				select {
				case got <- r:
				default:
				}
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = kit.Shutdown(context.Background()) }()
	var mu Mutex
	mu.SetName("orders")
	release := make(chan struct{})
	holder := holdInTask("holder", &mu, release)
	waiter := Go(context.Background(), "waiter", func(context.Context) error { mu.Lock(); mu.Unlock(); return nil })
	select {
	case r := <-got:
		if r.Kind != ReportLongHold || r.Lock != "orders" || len(r.Tasks) != 2 || r.Tasks[0].ID != holder.ID() || r.Tasks[1].ID != waiter.ID() {
			t.Errorf("report %v with tasks %+v", r, r.Tasks)
		}
	case <-time.After(testwait.Scale(time.Minute)):
		t.Fatal("no report")
	}
	_, body := get(t, Handler(), "/?format=json")
	var page struct {
		Tasks []consoleTask `json:"tasks"`
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	warned := map[uint64]string{}
	for _, ct := range page.Tasks {
		warned[ct.ID] = strings.Join(ct.Warnings, "; ")
	}
	if w := warned[holder.ID()]; !strings.HasPrefix(w, `holds lock "orders", which task `+fmt.Sprint(waiter.ID())+` has waited`) {
		t.Errorf("holder's warnings %q", w)
	}
	if w := warned[waiter.ID()]; !strings.Contains(w, `lock "orders" held for at least`) || !strings.Contains(w, fmt.Sprintf("by task %d", holder.ID())) {
		t.Errorf("waiter's warnings %q", w)
	}
	_, html := get(t, Handler(), "/")
	if !strings.Contains(html, "Warnings: lock waited on ≥ 50ms</p>") {
		t.Errorf("the list does not say the Kit's thresholds:\n%s", html)
	}
	close(release)
	_ = holder.Wait()
	_ = waiter.Wait()
}

// TestLintSpawnGrowthEpisodes: a site that leaks, recovers (its tasks end)
// and leaks again is reported once per leak.
func TestLintSpawnGrowthEpisodes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, reps := testDetector(detectorConfig{}, nil)
		defer d.close()
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
		cfg := lintTestConfig()
		cfg.growthSamples, cfg.growthEvery, cfg.growthMinRise = 12, 5*time.Second, 10
		runSweep(cfg, d, 310*time.Second)
		<-done
		close(stay)
		_ = keeper.Wait()
		n := 0
		for _, r := range reps.all() {
			if r.Kind == ReportSpawnGrowth && strings.Contains(r.SpawnSite, "spawnLeak") {
				n++
			}
		}
		if n != 2 {
			t.Errorf("%d reports for two leaks, want 2", n)
		}
	})
}
