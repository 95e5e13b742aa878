package file

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

// ProfileKind names a profile the [Profiler] writes. The values are the
// names runtime/pprof knows them by, and the first part of each file name.
type ProfileKind string

const (
	// ProfileCPU is a CPU profile of one window. Its samples carry the
	// goroutine's pprof labels (span_id, span_name, trace_id under tracekit).
	ProfileCPU ProfileKind = "cpu"
	// ProfileHeap is a heap snapshot: live and allocated objects and bytes
	// since the program started.
	ProfileHeap ProfileKind = "heap"
	// ProfileMutex is a snapshot of mutex contention since the program
	// started. Writing it turns on mutex profiling; see
	// [DefaultMutexProfileFraction].
	ProfileMutex ProfileKind = "mutex"
	// ProfileBlock is a snapshot of blocking (channels, select, sync) since
	// the program started. Writing it turns on block profiling; see
	// [DefaultBlockProfileRate].
	ProfileBlock ProfileKind = "block"
	// ProfileGoroutine is a snapshot of every goroutine's stack, with its
	// pprof labels.
	ProfileGoroutine ProfileKind = "goroutine"
	// ProfileGoroutineLeak lists goroutines blocked forever on
	// unreachable concurrency primitives. The runtime has it only when the
	// program is built with GOEXPERIMENT=goroutineleakprofile; otherwise
	// it is skipped.
	ProfileGoroutineLeak ProfileKind = "goroutineleak"
)

// Defaults of a [Profiler].
const (
	// DefaultProfileWindow is how long each CPU profile covers, and how
	// often snapshots are written.
	DefaultProfileWindow = 10 * time.Second
	// DefaultMaxProfileFiles bounds the number of profile files kept in
	// the directory.
	DefaultMaxProfileFiles = 64
	// DefaultMaxProfileBytes bounds the total size of the profile files
	// kept in the directory.
	DefaultMaxProfileBytes = 64 << 20
	// DefaultMutexProfileFraction is the fraction (1/n) of mutex
	// contention events recorded while [ProfileMutex] is written.
	DefaultMutexProfileFraction = 10
	// DefaultBlockProfileRate is the block profile rate while
	// [ProfileBlock] is written: about one blocking event is recorded per
	// this many nanoseconds spent blocked.
	DefaultBlockProfileRate = 10_000
)

// profileExt ends every file a Profiler writes: pprof protobuf, gzipped (the
// runtime compresses what it writes).
const profileExt = ".pb.gz"

// ProfileOption configures a [Profiler]. It is sealed: the With functions
// of this package are the only implementations.
type ProfileOption interface {
	applyProfile(*profileConfig)
}

type profileOptionFunc func(*profileConfig)

func (f profileOptionFunc) applyProfile(c *profileConfig) { f(c) }

type profileConfig struct {
	window   time.Duration
	kinds    []ProfileKind
	maxFiles int
	maxBytes int64
	onError  func(error)
}

func newProfileConfig(opts []ProfileOption) profileConfig {
	c := profileConfig{
		window:   DefaultProfileWindow,
		kinds:    []ProfileKind{ProfileCPU, ProfileHeap},
		maxFiles: DefaultMaxProfileFiles,
		maxBytes: DefaultMaxProfileBytes,
	}
	for _, o := range opts {
		if o != nil {
			o.applyProfile(&c)
		}
	}
	return c
}

// WithProfileWindow sets how long each CPU profile covers and how often the
// snapshots are written. Default [DefaultProfileWindow]; values under 100 ms
// are raised to 100 ms.
func WithProfileWindow(d time.Duration) ProfileOption {
	return profileOptionFunc(func(c *profileConfig) { c.window = max(d, 100*time.Millisecond) })
}

// WithProfileKinds chooses the profiles written, replacing the default
// [ProfileCPU] and [ProfileHeap].
func WithProfileKinds(kinds ...ProfileKind) ProfileOption {
	return profileOptionFunc(func(c *profileConfig) { c.kinds = append([]ProfileKind(nil), kinds...) })
}

// WithMaxProfileFiles bounds how many profile files are kept; the oldest are
// removed first. Default [DefaultMaxProfileFiles]; n < 1 means 1.
func WithMaxProfileFiles(n int) ProfileOption {
	return profileOptionFunc(func(c *profileConfig) { c.maxFiles = max(n, 1) })
}

// WithMaxProfileBytes bounds the total size of the profile files kept; the
// oldest are removed first, but the newest file is always kept. Default
// [DefaultMaxProfileBytes].
func WithMaxProfileBytes(n int64) ProfileOption {
	return profileOptionFunc(func(c *profileConfig) { c.maxBytes = n })
}

// WithProfileErrorHandler receives the errors a [Profiler] meets while it
// runs: a CPU profile that could not start (another CPU profile is running
// in the process), a file that could not be written or removed. Default:
// they are dropped, and the next window tries again.
func WithProfileErrorHandler(f func(error)) ProfileOption {
	return profileOptionFunc(func(c *profileConfig) { c.onError = f })
}

// Profiler writes profiles of the running program into a directory as gzip
// pprof files: a CPU profile for every window, and at the end of each window
// a snapshot of each other kind asked for. Files are named
// <kind>-<UTC time>-<sequence>.pb.gz, for example
// cpu-20260105T101500.000Z-000007.pb.gz, so that sorting names of one kind
// sorts them in time; each appears complete (it is written under a
// temporary name and renamed). After each write the oldest profile files are
// removed until both bounds ([WithMaxProfileFiles], [WithMaxProfileBytes])
// hold; other files in the directory are never touched.
//
// CPU samples carry the pprof labels of the goroutine they were taken on, so
// under tracekit's span labels each sample names the span it ran in. Only
// one CPU profile can run in a process at a time: when another is running,
// the window's CPU profile is skipped and reported to the error handler.
//
// Create it with [StartProfiler]; stop it with [Profiler.Shutdown]. Its
// methods are safe for concurrent use.
type Profiler struct {
	dir  string
	cfg  profileConfig
	stop chan struct{}
	done chan struct{}

	once sync.Once
	err  error // of the final window, set before done is closed

	seq     int  // file sequence; only the loop uses it
	mutexOn bool // the Profiler turned mutex profiling on
	blockOn bool // the Profiler turned block profiling on
	prevMut int  // mutex fraction to restore
}

// StartProfiler creates dir if needed and starts writing profiles into it.
// The first CPU window starts at once.
func StartProfiler(dir string, opts ...ProfileOption) (*Profiler, error) {
	if dir == "" {
		return nil, errors.New("file profiler: empty directory")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("file profiler: %w", err)
	}
	p := &Profiler{
		dir:  dir,
		cfg:  newProfileConfig(opts),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	for _, k := range p.cfg.kinds {
		switch k {
		case ProfileMutex:
			if !p.mutexOn {
				p.prevMut = runtime.SetMutexProfileFraction(DefaultMutexProfileFraction)
				p.mutexOn = true
			}
		case ProfileBlock:
			if !p.blockOn {
				runtime.SetBlockProfileRate(DefaultBlockProfileRate)
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
		return fmt.Errorf("file profiler %s: %w", p.dir, ctx.Err())
	}
}

func (p *Profiler) wants(k ProfileKind) bool {
	for _, w := range p.cfg.kinds {
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
	cpu := p.wants(ProfileCPU)
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
			p.report(fmt.Errorf("file profiler: cpu window skipped: %w", err))
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
			errs = append(errs, p.write(ProfileCPU, now, last.Bytes()))
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
	for _, k := range p.cfg.kinds {
		if k == ProfileCPU {
			continue
		}
		prof := pprof.Lookup(string(k))
		if prof == nil {
			if k != ProfileGoroutineLeak {
				errs = append(errs, fmt.Errorf("file profiler: no %s profile in this runtime", k))
			}
			continue
		}
		buf.Reset()
		if err := prof.WriteTo(&buf, 0); err != nil {
			errs = append(errs, fmt.Errorf("file profiler: %s profile: %w", k, err))
			continue
		}
		errs = append(errs, p.write(k, now, buf.Bytes()))
	}
	return errs
}

// write stores one profile under a temporary name and renames it, so that a
// reader never sees a partial file.
func (p *Profiler) write(k ProfileKind, now time.Time, data []byte) error {
	p.seq++
	name := profileFileName(k, now, p.seq)
	final := filepath.Join(p.dir, name)
	tmp := filepath.Join(p.dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("file profiler: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("file profiler: %w", err)
	}
	return nil
}

const profileTimeLayout = "20060102T150405.000Z"

func profileFileName(k ProfileKind, t time.Time, seq int) string {
	return fmt.Sprintf("%s-%s-%06d%s", k, t.UTC().Format(profileTimeLayout), seq, profileExt)
}

// profileFile is a file a Profiler wrote, as its name tells.
type profileFile struct {
	name string
	kind ProfileKind
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
	kind := ProfileKind(rest[:i])
	switch kind {
	case ProfileCPU, ProfileHeap, ProfileMutex, ProfileBlock, ProfileGoroutine, ProfileGoroutineLeak:
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

// ProfileFiles lists the profile files a [Profiler] wrote in dir, oldest
// first (by the time and sequence in their names). Other files are left
// out.
func ProfileFiles(dir string) ([]string, error) {
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
		return nil, fmt.Errorf("file profiler: %w", err)
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
			errs = append(errs, fmt.Errorf("file profiler: %w", err))
		}
		total -= files[0].size
		files = files[1:]
	}
	return errors.Join(errs...)
}
