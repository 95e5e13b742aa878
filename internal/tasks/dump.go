package tasks

import (
	"strconv"
	"strings"
	"unsafe"

	"github.com/tracekit-go/tracekit/internal/gostack"
)

// RunFunc is the function every task goroutine runs, and CallFunc the one
// a task bound to a goroutine for the length of a call runs in; in a
// goroutine dump their first argument is the *Task, whose first field is
// the task's Record, which ties the goroutine to the registry.
const (
	RunFunc  = "github.com/tracekit-go/tracekit/tracekit.(*Task).run"
	CallFunc = "github.com/tracekit-go/tracekit/tracekit.(*Task).call"
)

// ByAddr maps the address of every running task's record to the record.
func ByAddr() map[uint64]*Record {
	out := map[uint64]*Record{}
	for _, r := range Append(nil) {
		out[uint64(uintptr(unsafe.Pointer(r)))] = r
	}
	return out
}

// Goroutines maps the IDs of running tasks to their goroutines in gs: a
// goroutine's task and those it was bound over all map to it.
func Goroutines(gs []gostack.Goroutine) map[uint64]*gostack.Goroutine {
	byAddr := ByAddr()
	out := map[uint64]*gostack.Goroutine{}
	for i := range gs {
		for _, f := range gs[i].Frames {
			if r := frameTask(f, byAddr); r != nil {
				out[r.ID] = &gs[i]
			}
		}
	}
	return out
}

// Of returns the task, among byAddr, that g runs now: the innermost whose
// run or call frame is in g's stack, or nil.
func Of(g *gostack.Goroutine, byAddr map[uint64]*Record) *Record {
	for _, f := range g.Frames {
		if r := frameTask(f, byAddr); r != nil {
			return r
		}
	}
	return nil
}

// frameTask returns the task, among byAddr, whose run or call frame f is,
// or nil.
func frameTask(f gostack.Frame, byAddr map[uint64]*Record) *Record {
	if f.Func != RunFunc && f.Func != CallFunc {
		return nil
	}
	recv, _, _ := strings.Cut(f.Args, ",")
	addr, err := strconv.ParseUint(recv, 0, 64)
	if err != nil {
		return nil
	}
	return byAddr[addr]
}

// StackText is g's stack as a goroutine dump prints it.
func StackText(g *gostack.Goroutine) string {
	var b strings.Builder
	_ = gostack.WriteStack(&b, g)
	return b.String()
}
