package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY returns the two ends of a new pseudo-terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		t.Skipf("unlock pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		t.Skipf("pseudo-terminal number: %v", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Skipf("open pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { s.Close(); m.Close() })
	return m, s
}

// With stderr on a terminal, a long input shows its progress there, and the
// line is cleared at the end; --quiet turns it off.
func TestProgressOnTerminal(t *testing.T) {
	in := filepath.Join(t.TempDir(), "big.folded")
	if err := os.WriteFile(in, bytes.Repeat([]byte("main;run;step 1\n"), 3<<20), 0o644); err != nil { // 48 MiB
		t.Fatal(err)
	}
	for _, quiet := range []bool{false, true} {
		master, slave := openPTY(t)
		args := []string{"--format", "top", in}
		if quiet {
			args = append(args, "--quiet")
		}
		var out bytes.Buffer
		if err := Run(context.Background(), args, nil, &out, slave); err != nil {
			t.Fatal(err)
		}
		slave.Close()
		got, _ := io.ReadAll(master) // ends with EIO once the slave is closed
		s := string(got)
		shown := strings.Contains(s, "flamegen: reading "+in+": 16 MiB of 48 MiB")
		if shown == quiet || (!quiet && !strings.HasSuffix(s, "\r\033[K")) {
			t.Errorf("quiet=%v: terminal got %q", quiet, s)
		}
	}
}
