// Package gostack parses the goroutine dumps that runtime.Stack(buf, true)
// and the goroutine and goroutineleak profiles (debug=2) print, and groups
// goroutines with identical stacks. tracekit's leak checks, hang reports and
// console read goroutines through it.
package gostack

import (
	"bytes"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Frame is one call in a stack.
type Frame struct {
	Func string // fully qualified function, e.g. "net/http.(*conn).serve"
	File string // absolute source path, "" when the dump did not give one
	Line int
	// Args is the argument list the runtime printed, without the
	// parentheses: "0xc000123450, {0x1, 0x2}, ...". The runtime prints
	// words, not typed values, and marks a possibly stale one with "?";
	// "..." for an inlined call.
	Args string
}

func (f Frame) String() string {
	if f.File == "" {
		return f.Func
	}
	return fmt.Sprintf("%s\n\t%s:%d", f.Func, f.File, f.Line)
}

// Goroutine is one goroutine of a dump.
type Goroutine struct {
	ID uint64
	// State is the status or wait reason the runtime printed: "running",
	// "runnable", "chan receive", "select", "sync.Mutex.Lock", "IO wait"...
	State string
	// Waiting is how long the goroutine had been blocked, at the minute
	// granularity the runtime prints (zero under a minute).
	Waiting time.Duration
	// LockedToThread reports runtime.LockOSThread.
	LockedToThread bool
	// Leaked is set by the goroutineleak profile (GOEXPERIMENT=
	// goroutineleakprofile): the garbage collector proved the goroutine
	// can never be woken.
	Leaked bool
	// Bubble is the ID of the testing/synctest bubble the goroutine belongs
	// to, 0 outside any; Durable reports that it is durably blocked in it
	// (only a goroutine of the bubble can wake it). State carries neither.
	Bubble  uint64
	Durable bool
	// Frames lists the calls, innermost first.
	Frames []Frame
	// Elided reports that the runtime left frames out of a deep stack.
	Elided bool
	// CreatedBy is the go statement that started the goroutine (its
	// function and location); zero for goroutines the runtime started.
	CreatedBy Frame
	// CreatorID is the goroutine that ran that go statement, when printed.
	CreatorID uint64
	// Ancestors are the goroutines that created it, its creator first, as
	// a program run with GODEBUG=tracebackancestors=N prints them: each
	// one's ID and its stack when it ran the go statement. Unlike
	// CreatorID they are kept after those goroutines exit. Empty without
	// that setting.
	Ancestors []Ancestor
}

// Ancestor is a goroutine that created another, as it was at the go
// statement.
type Ancestor struct {
	ID        uint64
	Frames    []Frame // innermost first
	CreatedBy Frame   // zero for the main goroutine
}

// Top returns the innermost frame, or a zero Frame.
func (g *Goroutine) Top() Frame {
	if len(g.Frames) == 0 {
		return Frame{}
	}
	return g.Frames[0]
}

// HasFunc reports whether any frame, or the creating call, is in function
// fn.
func (g *Goroutine) HasFunc(fn string) bool {
	for _, f := range g.Frames {
		if f.Func == fn {
			return true
		}
	}
	return g.CreatedBy.Func == fn
}

// stackKey identifies a stack for grouping: the functions and lines, and
// where the goroutine was created.
func (g *Goroutine) stackKey() string {
	var b strings.Builder
	for _, f := range g.Frames {
		b.WriteString(f.Func)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(f.Line))
		b.WriteByte('\n')
	}
	b.WriteString("created by ")
	b.WriteString(g.CreatedBy.Func)
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(g.CreatedBy.Line))
	return b.String()
}

// SyntaxError reports a dump line that is not in the runtime's format.
type SyntaxError struct {
	Line int    // 1-based line number in the dump
	Text string // the line
	Want string // what was expected there
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("goroutine dump line %d: %s, got %q", e.Line, e.Want, e.Text)
}

// Parse reads a dump of one or more goroutines. Lines it does not know
// between goroutines (a panic message, a profile header) are skipped; a
// malformed goroutine header or frame is a *SyntaxError.
func Parse(dump []byte) ([]Goroutine, error) {
	var (
		out  []Goroutine
		cur  *Goroutine
		next = 0 // what the following line must be: 0 header/blank, 1 file of a frame, 2 file of created-by
		// Where frames and the created-by line go: the goroutine's own, or
		// the ancestor being read.
		frames  *[]Frame
		created *Frame
	)
	lines := bytes.Split(dump, []byte("\n"))
	for i, raw := range lines {
		line := string(bytes.TrimRight(raw, "\r"))
		n := i + 1
		switch {
		case next == 1 || next == 2:
			file, lineNo, ok := parseFileLine(line)
			if !ok {
				return nil, &SyntaxError{Line: n, Text: line, Want: "a tab and file:line after a function"}
			}
			if next == 1 {
				f := &(*frames)[len(*frames)-1]
				f.File, f.Line = file, lineNo
			} else {
				created.File, created.Line = file, lineNo
			}
			next = 0
		case strings.HasPrefix(line, "goroutine ") && strings.HasSuffix(line, ":"):
			g, err := parseHeader(line)
			if err != nil {
				return nil, &SyntaxError{Line: n, Text: line, Want: err.Error()}
			}
			out = append(out, g)
			cur = &out[len(out)-1]
			frames, created = &cur.Frames, &cur.CreatedBy
		case cur == nil || line == "":
			// Outside a goroutine: skip. A blank line ends one.
			if line == "" {
				cur = nil
			}
		case strings.HasPrefix(line, "created by "):
			fn, creator := parseCreatedBy(line)
			*created = Frame{Func: fn}
			if created == &cur.CreatedBy {
				cur.CreatorID = creator
			}
			next = 2
		case strings.HasPrefix(line, "...") && strings.Contains(line, "elided"):
			cur.Elided = true
		case strings.HasPrefix(line, "[originating from goroutine ") && strings.HasSuffix(line, "]:"):
			// GODEBUG=tracebackancestors: the stack of an ancestor follows.
			id, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(line, "[originating from goroutine "), "]:"), 10, 64)
			if err != nil {
				return nil, &SyntaxError{Line: n, Text: line, Want: "a goroutine number in [originating from goroutine N]:"}
			}
			cur.Ancestors = append(cur.Ancestors, Ancestor{ID: id})
			a := &cur.Ancestors[len(cur.Ancestors)-1]
			frames, created = &a.Frames, &a.CreatedBy
		case strings.HasPrefix(line, "\t"):
			return nil, &SyntaxError{Line: n, Text: line, Want: "a function call, not a file:line without one"}
		default:
			fn := funcName(line)
			*frames = append(*frames, Frame{Func: fn, Args: funcArgs(line, fn)})
			next = 1
		}
	}
	if next != 0 {
		return nil, &SyntaxError{Line: len(lines), Text: "", Want: "a tab and file:line after the last function"}
	}
	return out, nil
}

// parseHeader reads "goroutine 18 [chan receive, 3 minutes, locked to thread]:".
// Runtime-internal fields printed between the ID and the bracket (gp=, m=)
// are ignored.
func parseHeader(line string) (Goroutine, error) {
	var g Goroutine
	rest := strings.TrimSuffix(strings.TrimPrefix(line, "goroutine "), ":")
	idText, rest, _ := strings.Cut(rest, " ")
	id, err := strconv.ParseUint(idText, 10, 64)
	if err != nil {
		return g, fmt.Errorf("a goroutine number after %q", "goroutine ")
	}
	g.ID = id
	open, close := strings.IndexByte(rest, '['), strings.LastIndexByte(rest, ']')
	if open < 0 || close < open {
		return g, fmt.Errorf("a [state] after the goroutine number")
	}
	for i, part := range strings.Split(rest[open+1:close], ", ") {
		switch {
		case i == 0:
			if s, ok := strings.CutSuffix(part, " (durable)"); ok {
				g.Durable = true
				part = s
			}
			if s, ok := strings.CutSuffix(part, " (leaked)"); ok {
				g.Leaked = true
				part = s
			}
			g.State = part
		case part == "locked to thread":
			g.LockedToThread = true
		case strings.HasPrefix(part, "synctest bubble "):
			g.Bubble, _ = strconv.ParseUint(strings.TrimPrefix(part, "synctest bubble "), 10, 64)
		case strings.HasSuffix(part, " minutes"):
			if m, err := strconv.Atoi(strings.TrimSuffix(part, " minutes")); err == nil {
				g.Waiting = time.Duration(m) * time.Minute
			}
		}
	}
	return g, nil
}

// parseCreatedBy reads "created by pkg.fn in goroutine 7".
func parseCreatedBy(line string) (fn string, creator uint64) {
	rest := strings.TrimPrefix(line, "created by ")
	if f, id, ok := strings.Cut(rest, " in goroutine "); ok {
		n, _ := strconv.ParseUint(id, 10, 64)
		return f, n
	}
	return rest, 0
}

// funcName strips the argument list from "pkg.(*T).m(0xc000, ...)" and the
// "(...)" of inlined calls.
func funcName(line string) string {
	if i := strings.LastIndexByte(line, '('); i > 0 && strings.HasSuffix(line, ")") {
		// The argument list is the last parenthesised part; method
		// receivers like (*T) come before it.
		return line[:i]
	}
	return line
}

// funcArgs returns the argument list of a frame line whose function is fn.
func funcArgs(line, fn string) string {
	if len(line) < len(fn)+2 {
		return ""
	}
	return line[len(fn)+1 : len(line)-1]
}

// parseFileLine reads "\t/path/file.go:123 +0x1d".
func parseFileLine(line string) (string, int, bool) {
	if !strings.HasPrefix(line, "\t") {
		return "", 0, false
	}
	line = line[1:]
	if i := strings.LastIndex(line, " +0x"); i >= 0 {
		line = line[:i]
	}
	colon := strings.LastIndexByte(line, ':')
	if colon <= 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(line[colon+1:])
	if err != nil || n < 0 {
		return "", 0, false
	}
	return line[:colon], n, true
}

// Dump returns runtime.Stack's dump of every goroutine, growing the buffer
// until it fits.
func Dump() []byte {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return buf[:n]
		}
		buf = make([]byte, 2*len(buf))
	}
}

// Snapshot parses the stacks of every goroutine now.
func Snapshot() ([]Goroutine, error) {
	return Parse(Dump())
}

// Current returns the calling goroutine's ID.
func Current() uint64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	rest := strings.TrimPrefix(string(buf[:n]), "goroutine ")
	id, _, _ := strings.Cut(rest, " ")
	v, _ := strconv.ParseUint(id, 10, 64)
	return v
}
