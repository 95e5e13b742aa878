//go:build !tracekit_nosync

package tracekit

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/internal/goid"
	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// hangTimeout is the hang timeout of the deadlock tests' detectors: the
// fake clock of their bubbles passes it at once.
const hangTimeout = 30 * time.Second

// lockOp takes (or waits for) a Mutex, or an RWMutex for writing or
// reading, with LockContext or RLockContext, or with plain an RWMutex's
// Lock: always at one of the marked lines, which the reports must name.
type lockOp struct {
	m     *Mutex
	rw    *RWMutex
	read  bool
	plain bool
}

func (op lockOp) lock(ctx context.Context) error {
	switch {
	case op.m != nil:
		return op.m.LockContext(ctx) // dl:lock
	case op.rw != nil && op.read:
		return op.rw.RLockContext(ctx) // dl:rlock
	case op.rw != nil && op.plain:
		op.rw.Lock() // dl:wplain
		return nil
	case op.rw != nil:
		return op.rw.LockContext(ctx) // dl:wlock
	}
	return nil
}

func (op lockOp) unlock() {
	switch {
	case op.m != nil:
		op.m.Unlock()
	case op.rw != nil && op.read:
		op.rw.RUnlock()
	case op.rw != nil:
		op.rw.Unlock()
	}
}

// cycleTask is one task of a deadlock scenario: it takes its first lock
// (none for a zero lockOp), then, when told, waits for the second, until
// the test's context ends the wait.
type cycleTask struct {
	name         string
	first, wants lockOp
}

// runCycle starts the tasks, lets each take its first lock, then has them
// wait in order, a second of fake time apart (the first to wait is the
// first whose hang timeout passes), lets every hang timeout pass, then ends
// the waits and returns the tasks.
func runCycle(t *testing.T, ts []cycleTask) []*Task {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tasks := make([]*Task, len(ts))
	goes := make([]chan struct{}, len(ts))
	for i, tc := range ts {
		goes[i] = make(chan struct{})
		tasks[i] = Go(context.Background(), tc.name, func(context.Context) error {
			if err := tc.first.lock(ctx); err != nil {
				return err
			}
			<-goes[i]
			if tc.wants.lock(ctx) == nil {
				tc.wants.unlock()
			}
			tc.first.unlock()
			return nil
		})
	}
	synctest.Wait() // every first lock taken
	for i := range ts {
		close(goes[i])
		synctest.Wait() // task i waits
		time.Sleep(time.Second)
	}
	time.Sleep(hangTimeout)
	synctest.Wait() // the reports made
	cancel()
	for _, task := range tasks {
		if err := task.Wait(); err != nil {
			t.Errorf("task %s: %v", task.Name(), err)
		}
	}
	return tasks
}

// A cycle of waits between tasks is one deadlock report, which names every
// task, lock and place; the waits of the cycle get no hang report of their
// own. Through Mutex and RWMutex, held for writing or for reading.
func TestDeadlockReport(t *testing.T) {
	if !goid.Fast || !goid.FastID() {
		t.Skip("tasks cannot be told from goroutine IDs on this platform")
	}
	at := func(marker string) string {
		return regexp.QuoteMeta(fmt.Sprintf("tracekit/deadlock_test.go:%d", lineIn(t, "deadlock_test.go", marker)))
	}
	task := func(name string) string { return `task \d+ "` + name + `"` }
	rwNamed := func(d *detect.Detector, name string) *RWMutex {
		rw := namedRWMutex(name)
		rw.l.Det = d
		return rw
	}
	for _, tc := range []struct {
		name  string
		order bool
		tasks func(d *detect.Detector) []cycleTask
		// want is the message, a regular expression; wantLock the lock
		// the report is about (the first waiter's).
		want     string
		wantLock string
	}{{
		name:  "two tasks, two mutexes",
		order: true,
		tasks: func(d *detect.Detector) []cycleTask {
			x, y := pinned(d, "x"), pinned(d, "y")
			return []cycleTask{{"A", lockOp{m: x}, lockOp{m: y}}, {"B", lockOp{m: y}, lockOp{m: x}}}
		},
		want: `^deadlock of 2 task\(s\): ` + task("A") + ` waits at ` + at("dl:lock") + ` for lock "y", which ` + task("B") + ` took at ` + at("dl:lock") +
			`; ` + task("B") + ` waits at ` + at("dl:lock") + ` for lock "x", which ` + task("A") + ` took at ` + at("dl:lock") + `$`,
		wantLock: "y",
	}, {
		name: "two tasks, without lock-order detection",
		tasks: func(d *detect.Detector) []cycleTask {
			x, y := pinned(d, "x"), pinned(d, "y")
			return []cycleTask{{"A", lockOp{m: x}, lockOp{m: y}}, {"B", lockOp{m: y}, lockOp{m: x}}}
		},
		want: `^deadlock of 2 task\(s\): ` + task("A") + ` waits at ` + at("dl:lock") + ` for lock "y", which ` + task("B") + ` holds` +
			`; ` + task("B") + ` waits at ` + at("dl:lock") + ` for lock "x", which ` + task("A") + ` holds$`,
		wantLock: "y",
	}, {
		name:  "three tasks",
		order: true,
		tasks: func(d *detect.Detector) []cycleTask {
			x, y, z := pinned(d, "x"), pinned(d, "y"), pinned(d, "z")
			return []cycleTask{{"A", lockOp{m: x}, lockOp{m: y}}, {"B", lockOp{m: y}, lockOp{m: z}}, {"C", lockOp{m: z}, lockOp{m: x}}}
		},
		want: `^deadlock of 3 task\(s\): ` + task("A") + ` waits at \S+ for lock "y", which ` + task("B") + ` took at \S+; ` +
			task("B") + ` waits at \S+ for lock "z", which ` + task("C") + ` took at \S+; ` +
			task("C") + ` waits at \S+ for lock "x", which ` + task("A") + ` took at \S+$`,
		wantLock: "y",
	}, {
		name: "RWMutex held for writing",
		tasks: func(d *detect.Detector) []cycleTask {
			rw, m := rwNamed(d, "catalog"), pinned(d, "prices")
			return []cycleTask{{"writer", lockOp{rw: rw}, lockOp{m: m}}, {"reader", lockOp{m: m}, lockOp{rw: rw, read: true}}}
		},
		want: `^deadlock of 2 task\(s\): ` + task("writer") + ` waits at ` + at("dl:lock") + ` for lock "prices", which ` + task("reader") + ` holds; ` +
			task("reader") + ` waits at ` + at("dl:rlock") + ` for read lock "catalog", which ` + task("writer") + ` holds$`,
		wantLock: "prices",
	}, {
		name:  "RWMutex held for reading",
		order: true,
		tasks: func(d *detect.Detector) []cycleTask {
			rw, m := rwNamed(d, "catalog"), pinned(d, "prices")
			return []cycleTask{{"reader", lockOp{rw: rw, read: true}, lockOp{m: m}}, {"writer", lockOp{m: m}, lockOp{rw: rw}}}
		},
		want: `^deadlock of 2 task\(s\): ` + task("reader") + ` waits at ` + at("dl:lock") + ` for lock "prices", which ` + task("writer") + ` took at ` + at("dl:lock") + `; ` +
			task("writer") + ` waits at ` + at("dl:wlock") + ` for lock "catalog", which ` + task("reader") + ` read-locked at ` + at("dl:rlock") + `$`,
		wantLock: "prices",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d, r := testDetector(detect.Config{Hang: hangTimeout, Order: tc.order}, nil)
				defer d.Close()
				tasks := runCycle(t, tc.tasks(d))
				checkDeadlock(t, r, tasks, tc.want, tc.wantLock, hangTimeout)
			})
		})
	}
}

// checkDeadlock checks the one report of a deadlock scenario: its message,
// its tasks (in the cycle's order, from the first to wait), and a stack
// for each task's wait.
func checkDeadlock(t *testing.T, r *kittest.Reports, tasks []*Task, want, wantLock string, hang time.Duration) {
	t.Helper()
	checkDeadlockAt(t, r, tasks, want, wantLock, hang, "tracekit.lockOp.lock")
}

// checkDeadlockAt is checkDeadlock for waits whose stacks start in the
// function waitFn (a suffix of its name).
func checkDeadlockAt(t *testing.T, r *kittest.Reports, tasks []*Task, want, wantLock string, hang time.Duration, waitFn string) {
	t.Helper()
	var deadlocks []inspect.Report
	for _, rep := range r.All() {
		switch rep.Kind {
		case inspect.KindDeadlock:
			deadlocks = append(deadlocks, rep)
		case inspect.KindLockOrder, inspect.KindRecursiveLock:
		default:
			t.Errorf("a %s report besides the deadlock's:\n%s", rep.Kind, rep)
		}
	}
	if len(deadlocks) != 1 {
		t.Fatalf("%d deadlock reports, want 1:\n%v", len(deadlocks), deadlocks)
	}
	rep := deadlocks[0]
	if !regexp.MustCompile(want).MatchString(rep.Message) {
		t.Errorf("message\n%s\ndoes not match\n%s", rep.Message, want)
	}
	if rep.Lock != wantLock || rep.Duration < hang || len(rep.Goroutines) == 0 {
		t.Errorf("report on %q after %v (dump of %d bytes), want %q after the hang timeout, with a dump", rep.Lock, rep.Duration, len(rep.Goroutines), wantLock)
	}
	var ids []uint64
	for _, ti := range rep.Tasks {
		ids = append(ids, ti.ID)
		if ti.Goroutine == 0 || ti.Stack == "" {
			t.Errorf("task %d %q without its goroutine's stack", ti.ID, ti.Name)
		}
	}
	// The tasks in the cycle's order, from the first to wait; every one
	// waits somewhere in this file, which its stack shows.
	var wantIDs []uint64
	for _, task := range tasks {
		if strings.Contains(rep.Message, fmt.Sprintf("task %d %q waits", task.ID(), task.Name())) {
			wantIDs = append(wantIDs, task.ID())
		}
	}
	if !slices.Equal(ids, wantIDs) || len(ids) == 0 || ids[0] != tasks[0].ID() {
		t.Errorf("report's tasks %v, want %v, from the first to wait", ids, wantIDs)
	}
	waits := 0
	for _, s := range rep.Stacks {
		if strings.Contains(s.Label, " waits ") {
			waits++
			if f := s.Frames(); len(f) == 0 || !strings.Contains(f[0].Function, waitFn) {
				t.Errorf("stack %s does not start where the task waits", s)
			}
		}
	}
	if waits != len(ids) {
		t.Errorf("%d waiter stacks for %d tasks:\n%s", waits, len(ids), rep)
	}
}

// A reader that read-locks again while a writer is queued (a plain Lock)
// waits behind the writer, which waits for it: a deadlock through one
// RWMutex. A plain Lock is not durably blocked in a synctest bubble, so
// this runs on the real clock: the report is made by the hang timer of
// whichever wait passes the timeout with the cycle complete; a writer's
// timer that passes it before the reader asks again makes a hang report.
func TestDeadlockReaderBehindWriter(t *testing.T) {
	if !goid.Fast || !goid.FastID() {
		t.Skip("tasks cannot be told from goroutine IDs on this platform")
	}
	const hang = 200 * time.Millisecond
	d, r := testDetector(detect.Config{Hang: hang, Order: true}, nil)
	defer d.Close()
	rw := namedRWMutex("index")
	rw.l.Det = d
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	readLocked, again := make(chan struct{}), make(chan struct{})
	reader := Go(context.Background(), "reader", func(context.Context) error {
		read := lockOp{rw: rw, read: true}
		if err := read.lock(ctx); err != nil {
			return err
		}
		close(readLocked)
		<-again
		if read.lock(ctx) == nil {
			read.unlock()
		}
		read.unlock()
		return nil
	})
	<-readLocked
	writer := Go(context.Background(), "writer", func(context.Context) error {
		write := lockOp{rw: rw, plain: true}
		_ = write.lock(ctx)
		write.unlock()
		return nil
	})
	waitingOn := func(task *Task, what string) bool {
		return slices.ContainsFunc(inspect.Tasks(), func(ti inspect.Task) bool { return ti.ID == task.ID() && ti.WaitingOn == what })
	}
	if !testwait.For(time.Minute, func() bool { return waitingOn(writer, `lock "index"`) }) {
		t.Fatal("the writer never waited")
	}
	close(again)
	if _, ok := r.WaitFor(inspect.KindDeadlock, time.Minute); !ok {
		t.Fatalf("no deadlock report: %v", r.All())
	}
	cancel()
	_, _ = reader.Wait(), writer.Wait()

	at := func(marker string) string {
		return regexp.QuoteMeta(fmt.Sprintf("tracekit/deadlock_test.go:%d", lineIn(t, "deadlock_test.go", marker)))
	}
	writerWaits := fmt.Sprintf(`task %d "writer" waits at %s for lock "index", which task %d "reader" read-locked at %s`, writer.ID(), at("dl:wplain"), reader.ID(), at("dl:rlock"))
	readerWaits := fmt.Sprintf(`task %d "reader" waits at %s for read lock "index", queued behind task %d "writer", which waits to write-lock it`, reader.ID(), at("dl:rlock"), writer.ID())
	// The report is made by the timer of whichever wait first passes the
	// timeout with the cycle closed, usually the writer's; the writer's
	// may pass it alone, before the reader asks again, with a hang report.
	first, want := []*Task{writer, reader}, `^deadlock of 2 task\(s\): `+writerWaits+`; `+readerWaits+`$`
	if rep, _ := r.WaitFor(inspect.KindDeadlock, 0); len(rep.Tasks) > 0 && rep.Tasks[0].ID == reader.ID() {
		first, want = []*Task{reader, writer}, `^deadlock of 2 task\(s\): `+readerWaits+`; `+writerWaits+`$`
	}
	for _, rep := range r.All() {
		if rep.Kind == inspect.KindHang && (first[0] != reader || !slices.ContainsFunc(rep.Tasks, func(ti inspect.Task) bool { return ti.ID == reader.ID() })) {
			t.Errorf("a hang report besides the writer's before the cycle closed:\n%s", rep)
		}
	}
	checkDeadlock(t, keepKinds(r, inspect.KindDeadlock, inspect.KindLockOrder), first, want, "index", hang)
}

// keepKinds returns a collector holding r's reports of the given kinds.
func keepKinds(r *kittest.Reports, kinds ...inspect.Kind) *kittest.Reports {
	out := &kittest.Reports{}
	for _, rep := range r.All() {
		if slices.Contains(kinds, rep.Kind) {
			out.Add(rep)
		}
	}
	return out
}

// A producer holding a lock blocks sending to its only consumer, which
// waits for that lock: a deadlock through a channel whose other side is
// known (one task alone was seen receiving from it). With a second
// consumer seen, whoever receives next could end the send, and each wait
// is a hang of its own.
func TestDeadlockThroughChannel(t *testing.T) {
	if !goid.Fast || !goid.FastID() {
		t.Skip("tasks cannot be told from goroutine IDs on this platform")
	}
	for _, second := range []bool{false, true} {
		t.Run(fmt.Sprintf("second consumer=%v", second), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d, r := testDetector(detect.Config{Hang: hangTimeout}, nil)
				defer d.Close()
				x := pinned(d, "x")
				jobs := make(chan int)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				consume := func(context.Context) error {
					for {
						if _, err := recv(ctx, d, "jobs", jobs); err != nil { // dl:recv
							return nil
						}
						if x.LockContext(ctx) != nil { // dl:consumer-lock
							return nil
						}
						x.Unlock()
					}
				}
				var other *Task
				stop := make(chan struct{})
				if second {
					// Seen receiving, then busy elsewhere, in no tracked
					// wait.
					other = Go(context.Background(), "other consumer", func(context.Context) error {
						_, _ = recv(ctx, d, "jobs", jobs)
						<-stop
						return nil
					})
					synctest.Wait()
					jobs <- 0
					synctest.Wait()
				}
				consumer := Go(context.Background(), "consumer", consume)
				synctest.Wait() // it waits to receive: seen on that side
				producer := Go(context.Background(), "producer", func(context.Context) error {
					if x.LockContext(ctx) != nil {
						return nil
					}
					defer x.Unlock()
					for i := 1; ; i++ {
						if send(ctx, d, "jobs", jobs, i) != nil { // dl:send
							return nil
						}
						time.Sleep(time.Second) // the consumer, now waiting for x, waits first
					}
				})
				time.Sleep(2 * time.Second)
				time.Sleep(hangTimeout)
				synctest.Wait()
				close(stop)
				cancel()
				for _, task := range []*Task{consumer, producer, other} {
					if task != nil {
						_ = task.Wait()
					}
				}
				if second {
					if got := r.Kinds(); !slices.Equal(got, []inspect.Kind{inspect.KindHang, inspect.KindHang}) {
						t.Errorf("reports %v, want a hang for each wait:\n%v", got, r.All())
					}
					return
				}
				at := func(marker string) string {
					return regexp.QuoteMeta(fmt.Sprintf("tracekit/deadlock_test.go:%d", lineIn(t, "deadlock_test.go", marker)))
				}
				want := fmt.Sprintf(`^deadlock of 2 task\(s\): task %d "consumer" waits at %s for lock "x", which task %d "producer" holds; `+
					`task %d "producer" waits at %s to send on "jobs", which only task %d "consumer" has been seen receiving from$`,
					consumer.ID(), at("dl:consumer-lock"), producer.ID(), producer.ID(), at("dl:send"), consumer.ID())
				checkDeadlockAt(t, r, []*Task{consumer, producer}, want, "x", hangTimeout, "TestDeadlockThroughChannel")
			})
		})
	}
}

// A task that waits on a task of a cycle, without being part of it, gets a
// hang report of its own, naming the holder; the cycle gets one deadlock
// report, which does not name it.
func TestDeadlockBystander(t *testing.T) {
	if !goid.Fast || !goid.FastID() {
		t.Skip("tasks cannot be told from goroutine IDs on this platform")
	}
	synctest.Test(t, func(t *testing.T) {
		d, r := testDetector(detect.Config{Hang: hangTimeout}, nil)
		defer d.Close()
		x, y := pinned(d, "x"), pinned(d, "y")
		tasks := runCycle(t, []cycleTask{{"bystander", lockOp{}, lockOp{m: x}}, {"A", lockOp{m: x}, lockOp{m: y}}, {"B", lockOp{m: y}, lockOp{m: x}}})
		if got := r.Kinds(); !slices.Equal(got, []inspect.Kind{inspect.KindHang, inspect.KindDeadlock}) {
			t.Fatalf("reports %v, want the bystander's hang, then the deadlock:\n%v", got, r.All())
		}
		hang, deadlock := r.All()[0], r.All()[1]
		if len(hang.Tasks) != 1 || hang.Tasks[0].ID != tasks[1].ID() {
			t.Errorf("the bystander's hang report does not name A as the holder:\n%s", hang)
		}
		if len(deadlock.Tasks) != 2 || deadlock.Tasks[0].ID != tasks[1].ID() || deadlock.Tasks[1].ID != tasks[2].ID() {
			t.Errorf("the deadlock report's tasks are not A and B:\n%s", deadlock)
		}
	})
}
