package console

import (
	"bytes"
	"context"
	"fmt"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/google/pprof/profile"

	"github.com/tracekit-go/tracekit/internal/gostack"
	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/internal/tasks"
)

// A task page shows the task's stack without stopping the world for a
// dump of every goroutine (runtime.Stack(buf, true) keeps the world
// stopped while it formats all of them). Once a console exists, every
// task labels its goroutine with its ID (semconv.LabelTaskID); the page
// reads the goroutine profile, which the runtime collects while the
// program runs, stopping the world only briefly at its start and end, and
// takes the stack that carries the task's label.

// labelGoroutine is the console's tasks.GoroutineLabeler: the task's
// context carries the label too, so that pprof.Do in the task keeps it.
func labelGoroutine(ctx context.Context, id uint64) context.Context {
	ctx = pprof.WithLabels(ctx, pprof.Labels(semconv.LabelTaskID, strconv.FormatUint(id, 10)))
	pprof.SetGoroutineLabels(ctx)
	return ctx
}

// stackProfile is a goroutine profile's labelled stacks, by task ID.
type stackProfile struct {
	at     time.Time // when it was read
	byTask map[uint64][]*profile.Sample
	err    error
}

// readStacks reads the goroutine profile.
func readStacks() *stackProfile {
	at := time.Now()
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 0); err != nil {
		return &stackProfile{at: at, err: fmt.Errorf("read the goroutine profile: %w", err)}
	}
	p, err := profile.Parse(&buf)
	if err != nil {
		return &stackProfile{at: at, err: fmt.Errorf("parse the goroutine profile: %w", err)}
	}
	sp := &stackProfile{at: at, byTask: map[uint64][]*profile.Sample{}}
	for _, s := range p.Sample {
		for _, v := range s.Label[semconv.LabelTaskID] {
			if id, err := strconv.ParseUint(v, 10, 64); err == nil {
				sp.byTask[id] = append(sp.byTask[id], s)
			}
		}
	}
	return sp
}

// has reports whether the profile has a stack labelled with task id.
func (sp *stackProfile) has(id uint64) bool { return len(sp.byTask[id]) > 0 }

// stack returns the stack of task id's goroutine, as WriteStack prints
// it. Goroutines the task started with a plain go statement inherit its
// label: the task's own is the one running the task's function (or, for a
// task bound to a goroutine it did not start, the call that binds it), or
// the only goroutine labelled so when the profile cut the stack short.
func (sp *stackProfile) stack(id uint64) (string, bool) {
	samples := sp.byTask[id]
	var pick *profile.Sample
	for _, s := range samples {
		if hasFunc(s, tasks.RunFunc) || hasFunc(s, tasks.CallFunc) {
			pick = s
			break
		}
	}
	if pick == nil && len(samples) == 1 && len(samples[0].Value) > 0 && samples[0].Value[0] == 1 {
		pick = samples[0]
	}
	if pick == nil {
		return "", false
	}
	var g gostack.Goroutine
	for _, loc := range pick.Location {
		for _, ln := range loc.Line { // innermost first: inlined calls come before their caller
			if ln.Function != nil {
				g.Frames = append(g.Frames, gostack.Frame{Func: ln.Function.Name, File: ln.Function.Filename, Line: int(ln.Line)})
			}
		}
	}
	var b bytes.Buffer
	_ = gostack.WriteStack(&b, &g)
	return b.String(), true
}

func hasFunc(s *profile.Sample, fn string) bool {
	for _, loc := range s.Location {
		for _, ln := range loc.Line {
			if ln.Function != nil && ln.Function.Name == fn {
				return true
			}
		}
	}
	return false
}

// taskStack is what a task page says of the task's stack.
type taskStack struct {
	Text string    // the stack, "" when not found
	Note string    // why not, when not
	Time time.Time // when the profile was taken
}

// stackOf returns the stack of r, a running task, from a goroutine profile
// taken after the request began or recent enough (see budget).
func (c *console) stackOf(ctx context.Context, r *tasks.Record, arrived time.Time) (taskStack, error) {
	since := tasks.LabeledSince()
	if since.IsZero() || r.Start.Before(since) {
		return taskStack{Note: "not known: the task started before the console was made (from then on, each task labels its goroutine for the console to find)"}, nil
	}
	sp, _, err := c.stacks.get(ctx, c.budget, func(sp *stackProfile, start time.Time) bool {
		return sp.has(r.ID) || !start.Before(arrived)
	}, readStacks)
	if err != nil {
		return taskStack{}, err
	}
	if sp.err != nil {
		return taskStack{Note: sp.err.Error(), Time: sp.at}, nil
	}
	text, ok := sp.stack(r.ID)
	if !ok {
		return taskStack{Note: "not found in the goroutine profile: the task may have just ended, or replaced its goroutine's pprof labels", Time: sp.at}, nil
	}
	return taskStack{Text: text, Time: sp.at}, nil
}
