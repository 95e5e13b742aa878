package profiles

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Type names a kind of profile, as runtime/pprof names it. The file
// [Profiler] and package exporters/pyroscope take the same names.
type Type string

const (
	// CPU is a CPU profile of one window. Its samples carry the
	// goroutine's pprof labels (span_id, span_name, trace_id under tracekit).
	CPU Type = "cpu"
	// Heap is a heap snapshot: objects and bytes allocated since the
	// program started, and those in use (Pyroscope receives them as four
	// profiles, alloc_objects, alloc_space, inuse_objects, inuse_space).
	Heap Type = "heap"
	// Goroutine is a snapshot of every goroutine's stack, with its pprof
	// labels.
	Goroutine Type = "goroutine"
	// GoroutineLeak lists goroutines blocked forever on unreachable
	// concurrency primitives. The runtime has it only when the program is
	// built with GOEXPERIMENT=goroutineleakprofile ([GoroutineLeakSupported]);
	// otherwise it is skipped.
	GoroutineLeak Type = "goroutineleak"
	// Mutex is mutex contention since the program started. Collecting it
	// sets the runtime's mutex profile fraction to [MutexProfileFraction].
	Mutex Type = "mutex"
	// Block is blocking (channels, select, sync) since the program started.
	// Collecting it sets the runtime's block profile rate to
	// [BlockProfileRate].
	Block Type = "block"
)

// Sampling rates set while mutex or block profiles are collected, and put
// back when the profiler stops.
const (
	// MutexProfileFraction records one in this many mutex contention
	// events.
	MutexProfileFraction = 10
	// BlockProfileRate records about one blocking event per this many
	// nanoseconds spent blocked.
	BlockProfileRate = 10_000
)

// GoroutineLeakSupported reports whether this program's runtime has the
// goroutine leak profile.
func GoroutineLeakSupported() bool { return pprof.Lookup(string(GoroutineLeak)) != nil }

// Defaults of a [Profiler].
const (
	// DefaultWindow is how long each CPU profile covers, and how often
	// snapshots are written.
	DefaultWindow = 10 * time.Second
	// DefaultMaxFiles bounds the number of profile files kept in the
	// directory.
	DefaultMaxFiles = 64
	// DefaultMaxBytes bounds the total size of the profile files kept in
	// the directory.
	DefaultMaxBytes = 64 << 20
)

// profileExt ends every file a Profiler writes: pprof protobuf, gzipped (the
// runtime compresses what it writes).
const profileExt = ".pb.gz"

// Option configures a [Profiler]. It is sealed: the With functions of this
// package are the only implementations.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	window   time.Duration
	types    []Type
	maxFiles int
	maxBytes int64
	onError  func(error)
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.window <= 0 {
		c.window = DefaultWindow
	}
	c.window = max(c.window, 100*time.Millisecond)
	if c.types == nil {
		c.types = []Type{CPU, Heap}
	}
	if c.maxFiles <= 0 {
		c.maxFiles = DefaultMaxFiles
	}
	if c.maxBytes <= 0 {
		c.maxBytes = DefaultMaxBytes
	}
	return c
}

// WithWindow sets how long each CPU profile covers and how often the
// snapshots are written. Default [DefaultWindow]; values under 100 ms are
// raised to 100 ms.
func WithWindow(d time.Duration) Option {
	return optionFunc(func(c *config) { c.window = d })
}

// WithTypes chooses the profiles written, replacing the default [CPU] and
// [Heap].
func WithTypes(types ...Type) Option {
	return optionFunc(func(c *config) { c.types = append([]Type{}, types...) })
}

// WithMaxFiles bounds how many profile files are kept; the oldest are
// removed first. Default [DefaultMaxFiles].
func WithMaxFiles(n int) Option {
	return optionFunc(func(c *config) { c.maxFiles = n })
}

// WithMaxBytes bounds the total size of the profile files kept; the oldest
// are removed first, but the newest file is always kept. Default
// [DefaultMaxBytes].
func WithMaxBytes(n int64) Option {
	return optionFunc(func(c *config) { c.maxBytes = n })
}

// WithErrorHandler receives the errors a [Profiler] meets while it runs: a
// CPU profile that could not start (another CPU profile is running in the
// process), a file that could not be written or removed. Default: they are
// dropped, and the next window tries again.
func WithErrorHandler(f func(error)) Option {
	return optionFunc(func(c *config) { c.onError = f })
}

// Profiler writes profiles of the running program into a directory as gzip
// pprof files: a CPU profile for every window, and at the end of each window
// a snapshot of each other kind asked for. Files are named
// <kind>-<UTC time>-<sequence>.pb.gz, for example
// cpu-20260105T101500.000Z-000007.pb.gz, so that sorting names of one kind
// sorts them in time; each appears complete (it is written under a
// temporary name and renamed). After each write the oldest profile files are
// removed until both bounds ([WithMaxFiles], [WithMaxBytes]) hold; other
// files in the directory are never touched.
//
// CPU samples carry the pprof labels of the goroutine they were taken on, so
// under tracekit's span labels each sample names the span it ran in. Only
// one CPU profile can run in a process at a time: when another is running,
// the window's CPU profile is skipped and reported to the error handler.
//
// Create it with [Start]; stop it with [Profiler.Shutdown]. Its
// methods are safe for concurrent use.
type Profiler struct {
	dir  string
	cfg  config
	stop chan struct{}
	done chan struct{}

	once sync.Once
	err  error // of the final window, set before done is closed

	seq     int  // file sequence; only the loop uses it
	mutexOn bool // the Profiler turned mutex profiling on
	blockOn bool // the Profiler turned block profiling on
	prevMut int  // mutex fraction to restore
}

// Start creates dir if needed and starts writing profiles into it. The
// first CPU window starts at once.
func Start(dir string, opts ...Option) (*Profiler, error) {
	if dir == "" {
		return nil, errors.New("profiles: empty directory")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("profiles: %w", err)
	}
	p := &Profiler{
		dir:  dir,
		cfg:  newConfig(opts),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	for _, k := range p.cfg.types {
		switch k {
		case Mutex:
			if !p.mutexOn {
				p.prevMut = runtime.SetMutexProfileFraction(MutexProfileFraction)
				p.mutexOn = true
			}
		case Block:
			if !p.blockOn {
				runtime.SetBlockProfileRate(BlockProfileRate)
				p.blockOn = true
			}
		}
	}
	go p.loop()
	return p, nil
}

// Dir returns the directory the Profiler writes to.
func (p *Profiler) Dir() string { return p.dir }

// String names the Profiler for error messages.
func (p *Profiler) String() string { return "pprof files in " + p.dir }

// Shutdown ends the current window, writes its profiles and stops. It
// returns the errors of that last write, or ctx's error if ctx ends first
// (the last write then still completes in the background). Mutex and block
// profiling that the Profiler turned on are turned back off. It is safe to
// call more than once.
func (p *Profiler) Shutdown(ctx context.Context) error {
	p.once.Do(func() { close(p.stop) })
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return fmt.Errorf("profiles %s: %w", p.dir, ctx.Err())
	}
}

func (p *Profiler) wants(k Type) bool {
	for _, w := range p.cfg.types {
		if w == k {
			return true
		}
	}
	return false
}

func (p *Profiler) report(err error) {
	if err != nil && p.cfg.onError != nil {
		p.cfg.onError(err)
	}
}

func (p *Profiler) loop() {
	defer close(p.done)
	cpu := p.wants(CPU)
	// Two buffers, so that the next window starts before the last one is
	// written and no CPU time goes unprofiled in between.
	bufs := [2]*bytes.Buffer{new(bytes.Buffer), new(bytes.Buffer)}
	cur := 0
	startCPU := func() bool {
		if !cpu {
			return false
		}
		bufs[cur].Reset()
		if err := pprof.StartCPUProfile(bufs[cur]); err != nil {
			p.report(fmt.Errorf("profiles: cpu window skipped: %w", err))
			return false
		}
		return true
	}
	running := startCPU()
	t := time.NewTicker(p.cfg.window)
	defer t.Stop()
	for {
		var final bool
		select {
		case <-t.C:
		case <-p.stop:
			final = true
		}
		now := time.Now()
		var errs []error
		if running {
			pprof.StopCPUProfile()
			last := bufs[cur]
			if !final {
				cur = 1 - cur
				running = startCPU()
			}
			errs = append(errs, p.write(CPU, now, last.Bytes()))
		} else if !final {
			running = startCPU()
		}
		errs = append(errs, p.snapshots(now)...)
		errs = append(errs, p.prune())
		err := errors.Join(errs...)
		if final {
			p.restoreRates()
			p.err = err
			return
		}
		p.report(err)
	}
}

func (p *Profiler) restoreRates() {
	if p.mutexOn {
		runtime.SetMutexProfileFraction(p.prevMut)
	}
	if p.blockOn {
		runtime.SetBlockProfileRate(0)
	}
}

// snapshots writes every non-CPU kind asked for.
func (p *Profiler) snapshots(now time.Time) []error {
	var errs []error
	var buf bytes.Buffer
	for _, k := range p.cfg.types {
		if k == CPU {
			continue
		}
		prof := pprof.Lookup(string(k))
		if prof == nil {
			if k != GoroutineLeak {
				errs = append(errs, fmt.Errorf("profiles: no %s profile in this runtime", k))
			}
			continue
		}
		buf.Reset()
		if err := prof.WriteTo(&buf, 0); err != nil {
			errs = append(errs, fmt.Errorf("profiles: %s profile: %w", k, err))
			continue
		}
		errs = append(errs, p.write(k, now, buf.Bytes()))
	}
	return errs
}

// write stores one profile under a temporary name and renames it, so that a
// reader never sees a partial file.
func (p *Profiler) write(k Type, now time.Time, data []byte) error {
	p.seq++
	name := profileFileName(k, now, p.seq)
	final := filepath.Join(p.dir, name)
	tmp := filepath.Join(p.dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("profiles: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("profiles: %w", err)
	}
	return nil
}

const profileTimeLayout = "20060102T150405.000Z"

func profileFileName(k Type, t time.Time, seq int) string {
	return fmt.Sprintf("%s-%s-%06d%s", k, t.UTC().Format(profileTimeLayout), seq, profileExt)
}

// profileFile is a file a Profiler wrote, as its name tells.
type profileFile struct {
	name string
	kind Type
	time time.Time
	seq  int
	size int64
}

// parseProfileFileName reads a name profileFileName made; ok is false for
// any other name.
func parseProfileFileName(name string) (f profileFile, ok bool) {
	rest, ok := strings.CutSuffix(name, profileExt)
	if !ok {
		return f, false
	}
	i := strings.IndexByte(rest, '-')
	j := strings.LastIndexByte(rest, '-')
	if i <= 0 || j <= i {
		return f, false
	}
	kind := Type(rest[:i])
	switch kind {
	case CPU, Heap, Mutex, Block, Goroutine, GoroutineLeak:
	default:
		return f, false
	}
	t, err := time.Parse(profileTimeLayout, rest[i+1:j])
	if err != nil {
		return f, false
	}
	seq, err := strconv.Atoi(rest[j+1:])
	if err != nil || seq < 0 || len(rest[j+1:]) < 6 {
		return f, false
	}
	f = profileFile{name: name, kind: kind, time: t, seq: seq}
	// time.Parse and Atoi accept spellings the writer never makes (a
	// comma before the milliseconds, a sign); only an exact round trip
	// is a file of ours.
	if profileFileName(kind, t, seq) != name {
		return profileFile{}, false
	}
	return f, true
}

// Files lists the profile files a [Profiler] wrote in dir, oldest first
// (by the time and sequence in their names). Other files are left out.
func Files(dir string) ([]string, error) {
	files, err := listProfileFiles(dir)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = filepath.Join(dir, f.name)
	}
	return out, nil
}

func listProfileFiles(dir string) ([]profileFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("profiles: %w", err)
	}
	var files []profileFile
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		f, ok := parseProfileFileName(e.Name())
		if !ok {
			continue
		}
		if info, err := e.Info(); err == nil {
			f.size = info.Size()
		}
		files = append(files, f)
	}
	sort.Slice(files, func(i, j int) bool {
		if !files[i].time.Equal(files[j].time) {
			return files[i].time.Before(files[j].time)
		}
		if files[i].seq != files[j].seq {
			return files[i].seq < files[j].seq
		}
		return files[i].name < files[j].name
	})
	return files, nil
}

// prune removes the oldest profile files until at most maxFiles remain and
// they hold at most maxBytes together, always keeping the newest.
func (p *Profiler) prune() error {
	files, err := listProfileFiles(p.dir)
	if err != nil {
		return err
	}
	var total int64
	for _, f := range files {
		total += f.size
	}
	var errs []error
	for len(files) > 1 && (len(files) > p.cfg.maxFiles || total > p.cfg.maxBytes) {
		if err := os.Remove(filepath.Join(p.dir, files[0].name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("profiles: %w", err))
		}
		total -= files[0].size
		files = files[1:]
	}
	return errors.Join(errs...)
}
