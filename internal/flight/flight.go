// Package flight keeps the last seconds of the Go execution trace in memory
// and writes them to disk when something worth explaining happens: a hang, a
// detector's report, a span that ended slower than its threshold.
//
// Snapshots are rate-limited and bounded on disk. A request during the
// cool-down after a snapshot is not dropped: it is answered with the name of
// the next snapshot, taken when the cool-down ends, which still holds the
// moment of the request as long as the cool-down is shorter than the window.
// Files appear whole (written aside and renamed) or not at all.
package flight

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	rtrace "runtime/trace"
	"sync"
	"time"
)

// Defaults for the zero values of [Config].
const (
	DefaultWindow   = 10 * time.Second
	DefaultMaxFiles = 8
	DefaultMaxBytes = 256 << 20
)

// Config says where snapshots go and how many. Zero values mean the defaults.
type Config struct {
	Dir      string        // where snapshots are written; required
	Window   time.Duration // how far back a snapshot reaches (DefaultWindow)
	Interval time.Duration // at most one snapshot per Interval (the Window)
	MaxFiles int           // snapshots kept in Dir by this recorder (DefaultMaxFiles)
	MaxBytes int64         // bytes kept in Dir by this recorder (DefaultMaxBytes)
	OnError  func(error)   // failed writes and removals; nil drops them
}

// Recorder is a running flight recorder. Its methods are safe for concurrent
// use.
type Recorder struct {
	cfg Config
	fr  *rtrace.FlightRecorder

	mu      sync.Mutex
	seq     int
	next    time.Time   // the cool-down ends; zero when there is none
	pending string      // the snapshot scheduled for the cool-down's end, or ""
	timer   *time.Timer // fires the pending snapshot
	kept    []keptFile  // written by this recorder, oldest first
	closed  bool
	writing sync.WaitGroup
	wmu     sync.Mutex // one WriteTo at a time, as the runtime requires
}

type keptFile struct {
	path string
	size int64
}

// Start starts recording. Only one flight recorder can run in a process;
// starting a second fails.
func Start(cfg Config) (*Recorder, error) {
	if cfg.Dir == "" {
		return nil, errors.New("flight recorder: no directory")
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.Interval <= 0 {
		cfg.Interval = cfg.Window
	}
	if cfg.MaxFiles <= 0 {
		cfg.MaxFiles = DefaultMaxFiles
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.OnError == nil {
		cfg.OnError = func(error) {}
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("flight recorder: %w", err)
	}
	fr := rtrace.NewFlightRecorder(rtrace.FlightRecorderConfig{MinAge: cfg.Window})
	if err := fr.Start(); err != nil {
		return nil, fmt.Errorf("flight recorder: %w", err)
	}
	return &Recorder{cfg: cfg, fr: fr}, nil
}

var unsafeReason = regexp.MustCompile(`[^a-z0-9-]+`)

// Snapshot asks for the window to be written for reason (a short word such
// as "hang" or "slow-span") and returns the file that will hold it. The file
// is written in the background: now, or at the end of the cool-down after
// the previous snapshot, in which case every request in the cool-down shares
// it. ok is false when the recorder is closed.
func (r *Recorder) Snapshot(reason string) (path string, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return "", false
	}
	if r.pending != "" {
		return r.pending, true
	}
	now := time.Now()
	path = r.nameLocked(reason)
	if r.next.IsZero() || !now.Before(r.next) {
		r.next = now.Add(r.cfg.Interval)
		r.writing.Add(1)
		go r.write(path)
		return path, true
	}
	r.pending = path
	r.writing.Add(1) // written by firePending, or by Close if it comes first
	r.timer = time.AfterFunc(r.next.Sub(now), r.firePending)
	return path, true
}

func (r *Recorder) nameLocked(reason string) string {
	r.seq++
	slug := unsafeReason.ReplaceAllString(reason, "-")
	if slug == "" || slug == "-" {
		slug = "snapshot"
	}
	return filepath.Join(r.cfg.Dir, fmt.Sprintf("tracekit-%d-%d-%s.trace", os.Getpid(), r.seq, slug))
}

func (r *Recorder) firePending() {
	r.mu.Lock()
	path := r.pending
	r.pending, r.timer = "", nil
	r.next = time.Now().Add(r.cfg.Interval)
	r.mu.Unlock()
	if path != "" {
		r.write(path)
	}
}

// write puts the window in path by way of a temporary file, so that the
// name appears only once the file is whole, then trims what is kept.
func (r *Recorder) write(path string) {
	defer r.writing.Done()
	tmp := path + ".partial"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		r.cfg.OnError(fmt.Errorf("flight recorder snapshot: %w", err))
		return
	}
	r.wmu.Lock()
	n, err := r.fr.WriteTo(f)
	r.wmu.Unlock()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		r.cfg.OnError(fmt.Errorf("flight recorder snapshot %s: %w", path, err))
		return
	}
	r.mu.Lock()
	r.kept = append(r.kept, keptFile{path, n})
	var drop []string
	total := int64(0)
	for _, k := range r.kept {
		total += k.size
	}
	for len(r.kept) > 1 && (len(r.kept) > r.cfg.MaxFiles || total > r.cfg.MaxBytes) {
		total -= r.kept[0].size
		drop = append(drop, r.kept[0].path)
		r.kept = r.kept[1:]
	}
	r.mu.Unlock()
	for _, p := range drop {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			r.cfg.OnError(fmt.Errorf("flight recorder: remove old snapshot: %w", err))
		}
	}
}

// Files lists the snapshots this recorder has written and still keeps,
// oldest first.
func (r *Recorder) Files() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.kept))
	for i, k := range r.kept {
		out[i] = k.path
	}
	return out
}

// Close writes a snapshot still scheduled, waits for writes under way and
// stops recording. Safe to call twice.
func (r *Recorder) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	path := r.pending
	if path != "" && r.timer.Stop() {
		r.pending = ""
	} else {
		path = "" // none, or firePending is already on its way to it
	}
	r.mu.Unlock()
	if path != "" {
		r.write(path)
	}
	r.writing.Wait()
	r.fr.Stop()
}
