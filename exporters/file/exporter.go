package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// ErrShutdown is returned by [Exporter.ExportSpans] once [Exporter.Shutdown]
// has been called. Check for it with errors.Is.
var ErrShutdown = errors.New("file exporter: exporter is shut down")

// Exporter writes spans as OTLP JSON lines: each call to
// [Exporter.ExportSpans] appends one ExportTraceServiceRequest object (see
// [AppendRequest]) and a newline, the format of the OpenTelemetry
// Collector's file exporter, which the Collector's ptrace.JSONUnmarshaler and
// its otlpjsonfile receiver read back.
//
// Each batch is encoded completely in memory and handed to the writer in a
// single Write call, so concurrent exports never interleave, and a file ends
// in the middle of a line only if a write was cut short: by a crash, a power
// loss or a full disk. The next record then starts on a new line.
//
// An Exporter is an sdktrace.SpanExporter and is safe for concurrent use.
// Create it with [New] or [NewWriter].
type Exporter struct {
	w    io.Writer
	file *os.File // non-nil when the exporter owns the file and closes it
	name string   // for errors and MarshalLog
	cfg  config

	// sync makes written data durable: fsync for an owned regular file,
	// Flush for a writer that has one, otherwise nil.
	sync func() error

	// lock serialises writes, flushes and the shutdown. It is a channel so
	// that waiting for it can be abandoned when a context ends.
	lock chan struct{}

	stopped atomic.Bool // Shutdown has been called; refuse new exports

	// The following are guarded by lock.
	closed bool // Shutdown finished; w must not be used again
	// torn reports that the output does not end with a newline (a file
	// left so by a crash, or a failed partial write), so the next record
	// must start with one.
	torn bool
}

var _ sdktrace.SpanExporter = (*Exporter)(nil)

// New opens the file at path for appending, creating it with mode 0o644 if
// it does not exist, and returns an exporter that writes to it. The parent
// directory must already exist. [Exporter.Shutdown] syncs and closes the
// file.
//
// If the file is not empty and does not end with a newline, which is what a
// crash or power loss in the middle of a write leaves, the first record
// written starts with a newline so that it begins a line of its own: the
// torn line is then the only damaged one, and readers can skip it.
//
// The file is opened for reading too, so that New can check its last byte.
// An error from the operating system is returned wrapped; it names the path
// and matches fs.ErrNotExist or fs.ErrPermission with errors.Is.
func New(path string, opts ...Option) (*Exporter, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("file exporter: %w (the directory must exist)", err)
		}
		return nil, fmt.Errorf("file exporter: %w", err)
	}
	e := newExporter(f, path, opts)
	e.file = f

	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("file exporter: %w", err)
	}
	// Devices and pipes (New("/dev/stdout")) can neither be fsynced nor
	// read back; only a regular file gets the tail check and fsync.
	if fi.Mode().IsRegular() {
		e.sync = f.Sync
		if size := fi.Size(); size > 0 {
			var last [1]byte
			if _, err := f.ReadAt(last[:], size-1); err != nil {
				_ = f.Close()
				return nil, fmt.Errorf("file exporter: %w", err)
			}
			e.torn = last[0] != '\n'
		}
	}
	return e, nil
}

// NewWriter returns an exporter that writes to w, which it never closes.
// [Exporter.ForceFlush] and [Exporter.Shutdown] call w's Flush() error method
// if it has one (a *bufio.Writer does); nothing else is flushed or synced.
//
// Each batch reaches w in a single Write call. The exporter serialises its
// own writes, but w must not be written by anything else at the same time.
func NewWriter(w io.Writer, opts ...Option) *Exporter {
	e := newExporter(w, fmt.Sprintf("%T", w), opts)
	if f, ok := w.(interface{ Flush() error }); ok {
		e.sync = f.Flush
	}
	return e
}

func newExporter(w io.Writer, name string, opts []Option) *Exporter {
	return &Exporter{
		w:    w,
		name: name,
		cfg:  newConfig(opts),
		lock: make(chan struct{}, 1),
	}
}

// acquire takes the exporter's lock, or gives up when ctx is done.
func (e *Exporter) acquire(ctx context.Context) error {
	select {
	case e.lock <- struct{}{}:
		return nil
	default:
	}
	select {
	case e.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *Exporter) release() { <-e.lock }

// bufPool holds encoding buffers. Buffers that grew beyond maxPooledBuf for
// an unusually large batch are left to the garbage collector rather than
// pinned in the pool.
var bufPool = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledBuf = 1 << 20

// ExportSpans writes spans as one line of OTLP JSON. An empty batch writes
// nothing. With [WithSyncEveryExport] the line is flushed to stable storage
// before ExportSpans returns.
//
// It returns ctx.Err() if ctx ends before the write starts (a write that
// has started is not interrupted), [ErrShutdown] after [Exporter.Shutdown],
// and the writer's error, wrapped, if the write or flush fails.
//
// ExportSpans is safe for concurrent use; concurrent batches are written one
// after another.
func (e *Exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if e.stopped.Load() {
		return ErrShutdown
	}
	if len(spans) == 0 {
		return nil
	}

	bp := bufPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= maxPooledBuf {
			bufPool.Put(bp)
		}
	}()
	// Byte 0 is reserved for the newline that repairs a torn output; the
	// slice written starts at 0 or 1 and always ends with a newline.
	buf := append((*bp)[:0], '\n')
	buf = AppendRequest(buf, spans)
	buf = append(buf, '\n')
	*bp = buf

	if err := e.acquire(ctx); err != nil {
		return err
	}
	defer e.release()
	if e.closed {
		return ErrShutdown
	}
	if !e.torn {
		buf = buf[1:]
	}
	n, err := e.w.Write(buf)
	if err != nil {
		if n > 0 {
			e.torn = buf[n-1] != '\n'
		}
		return e.wrap("write", err)
	}
	e.torn = false
	if e.cfg.syncEveryExport {
		return e.flushLocked()
	}
	return nil
}

func (e *Exporter) flushLocked() error {
	if e.sync == nil {
		return nil
	}
	if err := e.sync(); err != nil {
		return e.wrap("flush", err)
	}
	return nil
}

// wrap adds the operation and destination to err, unless err is an
// *fs.PathError from the exporter's own file, which names both already.
func (e *Exporter) wrap(op string, err error) error {
	if e.file != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return fmt.Errorf("file exporter: %w", err)
		}
	}
	return fmt.Errorf("file exporter: %s %s: %w", op, e.name, err)
}

// ForceFlush makes everything exported so far durable: it fsyncs a regular
// file opened by [New] and calls Flush on a writer given to [NewWriter] that
// has one. Writes are never buffered by the exporter itself, so there is
// nothing else to flush.
//
// It returns ctx.Err() if ctx ends while it waits for an export in progress.
// After [Exporter.Shutdown], which flushed already, it does nothing and
// returns nil. ForceFlush is safe for concurrent use.
func (e *Exporter) ForceFlush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := e.acquire(ctx); err != nil {
		return err
	}
	defer e.release()
	if e.closed {
		return nil
	}
	return e.flushLocked()
}

// Shutdown stops the exporter: from the moment it is called, ExportSpans
// returns [ErrShutdown]. It then waits for an export in progress, flushes
// as [Exporter.ForceFlush] does, and closes the file if [New] opened it; a
// writer given to [NewWriter] is left open. Flush and close errors are
// joined.
//
// If ctx ends while Shutdown waits for an export in progress, Shutdown
// returns ctx.Err() and the file stays open (exports are still refused);
// call Shutdown again to finish. Once it has finished, further calls do
// nothing and return nil. Shutdown is safe for concurrent use.
func (e *Exporter) Shutdown(ctx context.Context) error {
	e.stopped.Store(true)
	if err := e.acquire(ctx); err != nil {
		return err
	}
	defer e.release()
	if e.closed {
		return nil
	}
	e.closed = true
	err := e.flushLocked()
	if e.file != nil {
		if cerr := e.file.Close(); cerr != nil {
			err = errors.Join(err, e.wrap("close", cerr))
		}
	}
	return err
}

// MarshalLog describes the exporter for logr-based logging, as the
// OpenTelemetry exporters do: its type and where it writes (the path given to
// [New], or the writer's Go type for [NewWriter]).
func (e *Exporter) MarshalLog() any {
	return struct {
		Type            string
		Destination     string
		SyncEveryExport bool
	}{
		Type:            "file",
		Destination:     e.name,
		SyncEveryExport: e.cfg.syncEveryExport,
	}
}

// String describes the destination, for example "file traces.jsonl"; errors
// from tracekit's export queue use it to say where spans were going.
func (e *Exporter) String() string { return "file " + e.name }
