package tasks

import (
	"strconv"
	"strings"
	"unsafe"

	"github.com/tracekit-go/tracekit/internal/gostack"
)

// RunFunc is the function every task goroutine runs; in a goroutine dump
// its first argument is the *Task, whose first field is the task's Record,
// which ties the goroutine to the registry.
const RunFunc = "github.com/tracekit-go/tracekit/tracekit.(*Task).run"

// ByAddr maps the address of every running task's record to the record.
func ByAddr() map[uint64]*Record {
	out := map[uint64]*Record{}
	for _, r := range Append(nil) {
		out[uint64(uintptr(unsafe.Pointer(r)))] = r
	}
	return out
}

// Goroutines maps the IDs of running tasks to their goroutines in gs.
func Goroutines(gs []gostack.Goroutine) map[uint64]*gostack.Goroutine {
	byAddr := ByAddr()
	out := map[uint64]*gostack.Goroutine{}
	for i := range gs {
		if r := Of(&gs[i], byAddr); r != nil {
			out[r.ID] = &gs[i]
		}
	}
	return out
}

// Of returns the task, among byAddr, whose run frame is in g's stack, or
// nil.
func Of(g *gostack.Goroutine, byAddr map[uint64]*Record) *Record {
	for _, f := range g.Frames {
		if f.Func != RunFunc {
			continue
		}
		recv, _, _ := strings.Cut(f.Args, ",")
		addr, err := strconv.ParseUint(recv, 0, 64)
		if err != nil {
			return nil
		}
		return byAddr[addr]
	}
	return nil
}

// StackText is g's stack as a goroutine dump prints it.
func StackText(g *gostack.Goroutine) string {
	var b strings.Builder
	_ = gostack.WriteStack(&b, g)
	return b.String()
}
