package tracekittest

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tracekit-go/tracekit/internal/env"
	"github.com/tracekit-go/tracekit/internal/goid"
	"github.com/tracekit-go/tracekit/internal/tasks"
	"github.com/tracekit-go/tracekit/internal/testname"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
)

// Detect runs tracekit's detectors while the test runs and fails t, with
// the report, on each report they make: a lock-order inversion, a
// recursive lock, a hang or deadlock, a long hold, an orphan task, a
// growing spawn site. It starts a Kit (sdk.Start) with lock-order
// detection on, exporting nothing, without the memory watch; the
// TRACEKIT_* and OTEL_* environment, then opts, override that. The Kit
// stops when the test ends.
//
// The detectors are the process's, so tests that call Detect at the same
// time, and [Detecting], share one Kit (started with the first caller's
// options). A report goes to the tests it comes from (made on a test's
// goroutine or in tasks the test started, or naming such tasks, or with
// the test's function on a stack), else to all of them. opts must not set a report handler: Detect's replaces it.
func Detect(t TestingT, opts ...sdk.Option) {
	t.Helper()
	if err := detectors.acquire(opts); err != nil {
		t.Fatalf("tracekittest: start the detectors: %v", err)
		return
	}
	s := &subscriber{t: t, goroutine: goid.ID()}
	if n, ok := t.(interface{ Name() string }); ok {
		s.test, _, _ = strings.Cut(n.Name(), "/")
	}
	detectors.subscribe(s)
	t.Cleanup(func() {
		detectors.unsubscribe(s)
		if err := detectors.release(); err != nil {
			t.Errorf("tracekittest: stop the detectors: %v", err)
		}
	})
}

// Detecting returns m with tracekit's detectors running around its tests,
// as [Detect] runs them around one: every report is logged when it is
// made, fails the tests that called Detect if it concerns them, and
// otherwise fails the run, with the reports, once its tests have passed. Use it
// in TestMain, alone or under [VerifyTestMain]:
//
//	func TestMain(m *testing.M) { os.Exit(tracekittest.Detecting(m).Run()) }
//	func TestMain(m *testing.M) { tracekittest.VerifyTestMain(tracekittest.Detecting(m)) }
//
// VerifyTestMain does this by itself when TRACEKIT_DEADLOCK is on.
func Detecting(m TestingM, opts ...sdk.Option) TestingM {
	return &detectingM{m: m, opts: opts, stderr: os.Stderr}
}

// detectingM is what Detecting returns.
type detectingM struct {
	m      TestingM
	opts   []sdk.Option
	stderr io.Writer
}

func (d *detectingM) Run() int {
	if err := detectors.acquire(d.opts); err != nil {
		fmt.Fprintf(d.stderr, "tracekittest: start the detectors: %v\n", err)
		return 1
	}
	all := &collector{}
	detectors.pushMain(all)
	code := d.m.Run()
	detectors.popMain()
	if err := detectors.release(); err != nil {
		fmt.Fprintf(d.stderr, "tracekittest: stop the detectors: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	reports := all.all()
	if code != 0 || len(reports) == 0 {
		return code
	}
	fmt.Fprintf(d.stderr, "tracekittest: tests passed, but tracekit's detectors made %d report(s):\n", len(reports))
	for _, r := range reports {
		fmt.Fprintf(d.stderr, "\n%s", r)
	}
	return 1
}

// detectors is the Kit that Detect and Detecting share, and who listens.
var detectors hub

type hub struct {
	// start serializes starting and stopping the Kit, and guards kit and
	// users; mu guards who listens, and is never held while a Kit starts
	// or stops, which may report.
	start sync.Mutex
	kit   *sdk.Kit
	users int
	// starters are the goroutines that started a Kit: the goroutines
	// they created are the Kit's, which the leak checks leave alone.
	starters sync.Map // uint64 → true

	mu   sync.Mutex
	subs []*subscriber
	// mains are the runs of Detecting, the innermost last (Detecting may
	// run inside a Detecting run, as in its own tests).
	mains []*collector
}

// subscriber is a test that called Detect: the goroutine it called it on,
// where the tasks it starts begin their chains, and the test function's
// name, which the stacks of goroutines it starts show.
type subscriber struct {
	t         TestingT
	goroutine uint64
	test      string
}

// collector keeps the reports Detecting's run saw.
type collector struct {
	mu      sync.Mutex
	reports []inspect.Report
}

func (c *collector) add(r inspect.Report) {
	c.mu.Lock()
	c.reports = append(c.reports, r)
	c.mu.Unlock()
}

func (c *collector) all() []inspect.Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.reports)
}

// stopTimeout bounds the shared Kit's shutdown.
//
// The leak checks leave the Kit's goroutines alone (they are stopped with
// it), but not a Kit a test started itself.
const stopTimeout = 10 * time.Second

// acquire starts the Kit if none runs, and counts one more user.
func (h *hub) acquire(opts []sdk.Option) error {
	h.start.Lock()
	defer h.start.Unlock()
	if h.kit == nil {
		// Started on a goroutine of its own, the creator of the Kit's
		// goroutines, by which the leak checks know them.
		var kit *sdk.Kit
		var err error
		done := make(chan struct{})
		go func() {
			defer close(done)
			h.starters.Store(goid.ID(), true)
			kit, err = sdk.Start(context.Background(), detectOptions(opts, h.deliver)...)
		}()
		<-done
		if err != nil {
			return err
		}
		h.kit = kit
	}
	h.users++
	return nil
}

// release counts one user less, and stops the Kit after the last.
func (h *hub) release() error {
	h.start.Lock()
	defer h.start.Unlock()
	h.users--
	if h.users > 0 {
		return nil
	}
	kit := h.kit
	h.kit = nil
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	return kit.Shutdown(ctx)
}

func (h *hub) subscribe(s *subscriber) {
	h.mu.Lock()
	h.subs = append(h.subs, s)
	h.mu.Unlock()
}

func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	h.subs = slices.DeleteFunc(h.subs, func(x *subscriber) bool { return x == s })
	h.mu.Unlock()
}

// started reports whether goroutine id started one of the detectors' Kits.
func (h *hub) started(id uint64) bool {
	_, ok := h.starters.Load(id)
	return id != 0 && ok
}

func (h *hub) pushMain(c *collector) {
	h.mu.Lock()
	h.mains = append(h.mains, c)
	h.mu.Unlock()
}

func (h *hub) popMain() {
	h.mu.Lock()
	h.mains = h.mains[:len(h.mains)-1]
	h.mu.Unlock()
}

// deliver hands a report, on the goroutine that found it, to the tests it
// concerns: those it names, or, when it names none of the tests that
// called Detect, every one of them; with none, to the innermost run of
// Detecting. One report fails one place. The lock is held throughout, so
// that no test gets a report after it ended.
func (h *hub) deliver(r inspect.Report) {
	origins := reportOrigins(r)
	named := reportTests(r)
	h.mu.Lock()
	defer h.mu.Unlock()
	to := slices.DeleteFunc(slices.Clone(h.subs), func(s *subscriber) bool { return !named[s.test] && !origins[s.goroutine] })
	if len(to) == 0 {
		to = h.subs
	}
	for _, s := range to {
		s.t.Errorf("tracekittest: tracekit's detectors reported:\n%s", r)
	}
	if len(to) == 0 && len(h.mains) > 0 {
		h.mains[len(h.mains)-1].add(r)
	}
}

// reportOrigins returns the goroutines a report comes from: the one that
// found it, or the one its task's chain of tasks began in, and those of
// the tasks it names.
func reportOrigins(r inspect.Report) map[uint64]bool {
	out := map[uint64]bool{}
	if t := tasks.Current(); t != nil && t.Origin != 0 {
		out[t.Origin] = true
	} else if goid.FastID() {
		out[goid.ID()] = true
	}
	if len(r.Tasks) > 0 {
		for _, t := range tasks.Append(nil) {
			if t.Origin != 0 && slices.ContainsFunc(r.Tasks, func(ti inspect.Task) bool { return ti.ID == t.ID }) {
				out[t.Origin] = true
			}
		}
	}
	return out
}

// reportTests returns the tests whose functions a report's stacks and
// tasks show.
func reportTests(r inspect.Report) map[string]bool {
	out := map[string]bool{}
	note := func(fn string) {
		if name := testname.FromFunc(fn); name != "" {
			out[name] = true
		}
	}
	for _, s := range r.Stacks {
		for _, f := range s.Frames() {
			note(f.Function)
		}
	}
	for _, ti := range r.Tasks {
		note(ti.SpawnFunction)
		for _, line := range strings.Split(ti.Stack, "\n") {
			if fn, _, ok := strings.Cut(line, "("); ok && !strings.HasPrefix(line, "\t") {
				note(fn)
			}
		}
	}
	return out
}

// detectOptions are the options of the shared Kit: the helpers' defaults
// where the environment says nothing, then opts, then the report handler.
func detectOptions(opts []sdk.Option, handler func(inspect.Report)) []sdk.Option {
	var out []sdk.Option
	unset := func(name string) bool { _, set := os.LookupEnv(name); return !set }
	if unset(env.TracesExporter) {
		out = append(out, sdk.WithTracesExporter(sdk.ExporterNone))
	}
	if unset(env.MetricsExporter) {
		out = append(out, sdk.WithMetricsExporter(sdk.ExporterNone))
	}
	if unset(env.Deadlock) {
		out = append(out, sdk.WithDeadlockDetection())
	}
	if unset(env.MemoryWatch) {
		// A test binary's memory says little about the code under test.
		out = append(out, sdk.WithoutMemoryWatch())
	}
	out = append(out, opts...)
	return append(out, sdk.WithReportHandler(handler))
}

// deadlockRequested reports whether TRACEKIT_DEADLOCK is on.
func deadlockRequested() bool {
	on, ok, err := env.Flag(env.Deadlock)
	return err == nil && ok && on
}
