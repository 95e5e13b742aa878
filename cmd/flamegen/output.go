package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// output is where a run writes: standard output, or the -o file. A regular
// file (or one that does not exist yet) is written through a temporary
// file in its directory, renamed into place by commit, so that a failed or
// interrupted run leaves the old file as it was and no temporary file
// behind; a symlink is followed and the file it names replaced, keeping the
// link; an existing file keeps its permissions. A FIFO, a device or a
// socket is written as a stream.
type output struct {
	w      io.Writer
	f      *os.File
	tmp    string // the temporary file, "" when streaming
	target string
	mode   fs.FileMode // the permissions to give the file, with keep
	keep   bool
	closed bool
}

// createOutput opens the -o destination path, or standard output for "" and
// "-". It is called before the inputs are read, so that a bad destination
// fails at once; ctx ends a wait to open a FIFO that no one reads.
func createOutput(ctx context.Context, path string, stdout io.Writer) (*output, error) {
	if path == "" || path == "-" {
		return &output{w: &ctxWriter{ctx: ctx, w: stdout}}, nil
	}
	if st, err := os.Stat(path); err == nil {
		switch {
		case st.IsDir():
			return nil, &UsageError{Msg: fmt.Sprintf("flamegen: -o %s is a directory: expected a file", path)}
		case !st.Mode().IsRegular():
			f, err := openStream(ctx, path)
			if err != nil {
				return nil, err
			}
			return &output{w: &ctxWriter{ctx: ctx, w: f}, f: f, target: path}, nil
		}
	}
	target, err := followLinks(path)
	if err != nil {
		return nil, err
	}
	o := &output{target: target}
	if st, err := os.Stat(target); err == nil {
		o.mode, o.keep = st.Mode().Perm(), true
	}
	if o.f, o.tmp, err = createTemp(target); err != nil {
		return nil, err
	}
	o.w = &ctxWriter{ctx: ctx, w: o.f}
	return o, nil
}

// openStream opens a FIFO or device for writing. Opening a FIFO waits for
// a reader; ctx ends the wait.
func openStream(ctx context.Context, path string) (*os.File, error) {
	type result struct {
		f   *os.File
		err error
	}
	ch := make(chan result, 1)
	go func() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		ch <- result{f, err}
	}()
	select {
	case r := <-ch:
		return r.f, r.err
	case <-ctx.Done():
		go func() { // close what the open finally returns
			if r := <-ch; r.f != nil {
				r.f.Close()
			}
		}()
		return nil, context.Cause(ctx)
	}
}

// followLinks returns the file that path names once symlinks are followed,
// whether it exists or not.
func followLinks(path string) (string, error) {
	for range 40 {
		st, err := os.Lstat(path)
		if err != nil || st.Mode()&fs.ModeSymlink == 0 {
			return path, nil
		}
		dest, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(path), dest)
		}
		path = dest
	}
	return "", fmt.Errorf("-o %s: too many levels of symbolic links", path)
}

// createTemp creates a new file beside target, with the permissions a
// shell gives a new file (0666 less the umask).
func createTemp(target string) (*os.File, string, error) {
	dir, base := filepath.Split(target)
	for {
		var b [6]byte
		rand.Read(b[:])
		name := filepath.Join(dir, "."+base+".tmp-"+hex.EncodeToString(b[:]))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, name, err
	}
}

// commit puts the written file in place.
func (o *output) commit() error {
	if o.f == nil || o.closed {
		return nil
	}
	o.closed = true
	if o.tmp == "" {
		return o.f.Close()
	}
	err := o.f.Close()
	if err == nil && o.keep {
		err = os.Chmod(o.tmp, o.mode)
	}
	if err == nil {
		err = os.Rename(o.tmp, o.target)
	}
	if err != nil {
		os.Remove(o.tmp)
		return fmt.Errorf("write %s: %w", o.target, err)
	}
	return nil
}

// abort drops what was written, unless commit ran.
func (o *output) abort() {
	if o.f == nil || o.closed {
		return
	}
	o.closed = true
	o.f.Close()
	if o.tmp != "" {
		os.Remove(o.tmp)
	}
}

// ctxWriter stops writing once ctx is done, so that an interrupt ends a
// long render promptly.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if c.ctx.Err() != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.w.Write(p)
}

// ctxReader stops reading when ctx is done, so that an interrupt ends a
// long parse promptly.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if c.ctx.Err() != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(p)
}
