package console

import (
	"context"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/internal/tasks"
	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

//go:noinline
func parentBlocks(release chan struct{}) { <-release }

//go:noinline
func childBlocks(release chan struct{}) { <-release }

//go:noinline
func inProfileDo(release chan struct{}) { <-release }

//go:noinline
func boundBlocks(release chan struct{}) { <-release }

//go:noinline
func afterCallBlocks(release chan struct{}) { <-release }

// A task's page shows its own goroutine's stack, found by the pprof label
// the task put on it: not the stack of a goroutine it started with a go
// statement (which inherits the label), also under pprof.Do; and says so
// when the task has replaced its labels.
func TestConsoleTaskStack(t *testing.T) {
	h := Handler(WithoutRefresh())
	release := make(chan struct{})
	childUp := make(chan struct{})
	parent := tracekit.Go(context.Background(), "parent", func(ctx context.Context) error {
		go func() { close(childUp); childBlocks(release) }()
		parentBlocks(release)
		return nil
	})
	<-childUp
	relabelled := tracekit.Go(context.Background(), "relabelled", func(ctx context.Context) error {
		pprof.Do(ctx, pprof.Labels("stage", "fetch"), func(context.Context) { inProfileDo(release) })
		return nil
	})
	dropped := tracekit.Go(context.Background(), "dropped", func(ctx context.Context) error {
		pprof.SetGoroutineLabels(context.Background())
		parentBlocks(release)
		return nil
	})
	defer func() {
		close(release)
		for _, tk := range []*tracekit.Task{parent, relabelled, dropped} {
			_ = tk.Wait()
		}
	}()
	waitFor(t, "the tasks running", func(s []inspect.Task) bool {
		_, ok1 := taskByID(s, parent.ID())
		_, ok2 := taskByID(s, relabelled.ID())
		_, ok3 := taskByID(s, dropped.ID())
		return ok1 && ok2 && ok3
	})

	stackOf := func(tk *tracekit.Task, want string) consoleTask {
		t.Helper()
		var ct consoleTask
		// The profile may be read before the task's goroutine blocks
		// where the test wants it: look again until it has.
		testwait.For(time.Minute, func() bool {
			ct = consoleTask{}
			kittest.GetJSON(t, h, "/?format=json&task="+strconv.FormatUint(tk.ID(), 10), &ct)
			return strings.Contains(ct.Stack, want)
		})
		return ct
	}
	if ct := stackOf(parent, "parentBlocks"); !strings.Contains(ct.Stack, "console.parentBlocks") || strings.Contains(ct.Stack, "childBlocks") ||
		!strings.Contains(ct.Stack, tasks.RunFunc) || ct.StackTime == nil || ct.Goroutine == 0 {
		t.Errorf("the parent's page: goroutine %d, stack from %v:\n%s%s", ct.Goroutine, ct.StackTime, ct.Stack, ct.StackNote)
	}
	if ct := stackOf(relabelled, "inProfileDo"); !strings.Contains(ct.Stack, "console.inProfileDo") {
		t.Errorf("under pprof.Do: stack:\n%s%s", ct.Stack, ct.StackNote)
	}
	if ct := stackOf(dropped, ""); ct.Stack != "" || !strings.Contains(ct.StackNote, "replaced its goroutine's pprof labels") {
		t.Errorf("a task that dropped its labels: stack %q, note %q", ct.Stack, ct.StackNote)
	}
	_, page := kittest.Get(t, h, "/?task="+strconv.FormatUint(dropped.ID(), 10))
	if !strings.Contains(page, `<p class="summary" id="stack-note">Stack not found in the goroutine profile`) {
		t.Errorf("the page of a task whose stack is not found:\n%s", page)
	}

	// A task started before any console was made never labelled its
	// goroutine: its page says so rather than looking.
	c := h.(*console)
	st, err := c.stackOf(context.Background(), &tasks.Record{ID: parent.ID(), Start: tasks.LabeledSince().Add(-time.Second)}, time.Now())
	if err != nil || st.Text != "" || !strings.Contains(st.Note, "started before the console was made") {
		t.Errorf("a task older than the console: %+v, %v", st, err)
	}
}

// A task bound to a goroutine tracekit did not start (tracekit.Do, Bind)
// labels that goroutine for the length of its call: its page shows the
// goroutine's stack, not that of a goroutine it started; once the call
// returns, the goroutine carries the labels it had before.
func TestConsoleBoundTaskStack(t *testing.T) {
	h := Handler(WithoutRefresh())
	release, released := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	before := pprof.WithLabels(context.Background(), pprof.Labels("caller", "handler"))
	go func() {
		defer close(done)
		pprof.SetGoroutineLabels(before)
		_ = tracekit.Do(before, "bound", func(ctx context.Context) error {
			return tracekit.Bind(ctx, "inner", func(ctx context.Context) error {
				go func() { childBlocks(release) }()
				boundBlocks(release)
				return nil
			})
		})
		afterCallBlocks(released)
	}()
	var id uint64
	waitFor(t, "the bound task", func(s []inspect.Task) bool {
		for _, tk := range s {
			if tk.Name == "inner" {
				id = tk.ID
				return true
			}
		}
		return false
	})
	var ct consoleTask
	testwait.For(time.Minute, func() bool {
		ct = consoleTask{}
		kittest.GetJSON(t, h, "/?format=json&task="+strconv.FormatUint(id, 10), &ct)
		return strings.Contains(ct.Stack, "boundBlocks")
	})
	if !strings.Contains(ct.Stack, "console.boundBlocks") || strings.Contains(ct.Stack, "childBlocks") || !strings.Contains(ct.Stack, tasks.CallFunc) {
		t.Errorf("the bound task's page: stack:\n%s%s", ct.Stack, ct.StackNote)
	}
	close(release)
	// Once the call has returned, the goroutine is labelled as before it.
	var dump string
	testwait.For(time.Minute, func() bool {
		var b strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
		dump = b.String()
		return strings.Contains(dump, "afterCallBlocks")
	})
	for _, group := range strings.Split(dump, "\n\n") {
		if strings.Contains(group, "console.afterCallBlocks") && !strings.Contains(group, `# labels: {"caller":"handler"}`) {
			t.Errorf("the goroutine after the call:\n%s", group)
		}
	}
	close(released)
	<-done
}
