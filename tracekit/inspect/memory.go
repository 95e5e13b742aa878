package inspect

import "fmt"

// MemoryCause says which check of the memory watch made a [KindMemory] report.
type MemoryCause int

const (
	// MemoryNearLimit: memory use passed the fraction of the limit.
	MemoryNearLimit MemoryCause = iota + 1
	// MemoryGrowing: the live heap kept rising across samples.
	MemoryGrowing
)

func (c MemoryCause) String() string {
	switch c {
	case MemoryNearLimit:
		return "near-limit"
	case MemoryGrowing:
		return "growing"
	}
	return fmt.Sprintf("MemoryCause(%d)", int(c))
}

// MemoryLimitKind says where the memory limit came from.
type MemoryLimitKind int

const (
	// MemoryLimitNone: neither GOMEMLIMIT nor a cgroup limits the process.
	MemoryLimitNone MemoryLimitKind = iota
	// MemoryLimitGo: the Go runtime's limit, GOMEMLIMIT or
	// debug.SetMemoryLimit.
	MemoryLimitGo
	// MemoryLimitCgroup: a cgroup v2 memory.max or cgroup v1
	// memory.limit_in_bytes file.
	MemoryLimitCgroup
)

func (k MemoryLimitKind) String() string {
	switch k {
	case MemoryLimitNone:
		return "none"
	case MemoryLimitGo:
		return "GOMEMLIMIT"
	case MemoryLimitCgroup:
		return "cgroup"
	}
	return fmt.Sprintf("MemoryLimitKind(%d)", int(k))
}

// MemoryUsage is what the memory watch saw when it made a [KindMemory]
// report ([Report.Memory]).
type MemoryUsage struct {
	Cause MemoryCause
	// Used is the memory the Go runtime holds from the operating system,
	// what GOMEMLIMIT counts: every runtime memory class except heap
	// memory released to the OS.
	Used uint64
	// Limit is the memory limit in bytes, 0 when there is none.
	Limit     uint64
	LimitKind MemoryLimitKind
	// LimitSource names where the limit was read: the runtime metric for
	// GOMEMLIMIT, the path of the memory.max (v2) or
	// memory.limit_in_bytes (v1) file for a cgroup.
	LimitSource string
	// Fraction is the share of the limit past which use is reported.
	Fraction float64
	// LiveHeap is the heap that survived the last GC
	// (runtime/metrics /gc/heap/live:bytes).
	LiveHeap uint64
	// GrowthFrom is, for MemoryGrowing, the live heap when the rising run
	// began, and GrowthSamples the number of rises in the run.
	GrowthFrom    uint64
	GrowthSamples int
}
