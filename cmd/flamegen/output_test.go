//go:build unix

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestMain lets the tests run this test binary as flamegen itself, in a
// child process they can send signals to.
func TestMain(m *testing.M) {
	if os.Getenv("FLAMEGEN_TEST_MAIN") == "1" {
		os.Exit(mainCode())
	}
	os.Exit(m.Run())
}

// child starts flamegen as a real process with args, its standard input a
// pipe the test writes.
func child(t *testing.T, args ...string) (*exec.Cmd, io.WriteCloser, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "FLAMEGEN_TEST_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, stdin, &stderr
}

// waitFor polls cond until it holds, failing after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, not a guess at timing
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// SIGINT or SIGTERM while flamegen is reading its input stops it with the
// shell's status for the signal, the old output file as it was and no
// temporary file left in its directory.
func TestSignalLeavesNoTempFile(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out.svg")
			if err := os.WriteFile(out, []byte("the old graph"), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd, stdin, stderr := child(t, "-", "-o", out)
			io.WriteString(stdin, "main;work 3\nmain;rest 1\n")
			// The temporary file exists once flamegen is reading.
			waitFor(t, "the temporary file", func() bool { return len(dirNames(t, dir)) == 2 })
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 128+int(sig) {
				t.Errorf("exit %v, want status %d", err, 128+int(sig))
			}
			if names := dirNames(t, dir); len(names) != 1 || names[0] != "out.svg" {
				t.Errorf("directory holds %q", names)
			}
			if b, _ := os.ReadFile(out); string(b) != "the old graph" {
				t.Errorf("output file changed to %q", b)
			}
			name := map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM"}[sig]
			if !strings.Contains(stderr.String(), "flamegen: stopped by "+name) {
				t.Errorf("stderr %q", stderr)
			}
		})
	}
}

// A FIFO is written as a stream; flamegen waits for its reader, and a
// signal ends that wait too.
func TestOutputFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "graph.fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	got := make(chan []byte, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- nil
			return
		}
		b, _ := io.ReadAll(f)
		f.Close()
		got <- b
	}()
	if _, stderr, code := flamegen(t, "main;work 3\n", "--format", "folded", "-", "-o", fifo); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if b := <-got; string(b) != "main;work 3\n" {
		t.Errorf("the reader got %q", b)
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Errorf("directory holds %q", names)
	}

	// No reader: flamegen waits to open the FIFO until a signal stops it.
	// A thread of it waits in the kernel's FIFO open, which /proc shows.
	if _, err := os.Stat("/proc/self/task"); err != nil {
		t.Skip("no /proc to see a thread wait for a FIFO")
	}
	cmd, _, _ := child(t, "-", "-o", fifo)
	waitFor(t, "flamegen to wait for the FIFO's reader", func() bool {
		tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/task/*/wchan")
		for _, w := range tasks {
			if b, _ := os.ReadFile(w); strings.Contains(string(b), "fifo") || strings.Contains(string(b), "partner") {
				return true
			}
		}
		return false
	})
	cmd.Process.Signal(syscall.SIGINT)
	var ee *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Errorf("exit %v, want status 130", err)
	}
}

// -o writes through a symlink (the link stays, the file it names gets the
// graph), creates the file a dangling link names, keeps an existing file's
// permissions, gives a new file the umask's, and writes a device as a
// stream.
func TestOutputDestinations(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.svg")
	if err := os.WriteFile(real, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	os.Chmod(real, 0o640)
	link := filepath.Join(dir, "link.svg")
	if err := os.Symlink("real.svg", link); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := flamegen(t, "main;work 3\n", "--format", "folded", "-", "-o", link); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v", err)
	}
	b, _ := os.ReadFile(real)
	st, _ := os.Stat(real)
	if string(b) != "main;work 3\n" || st.Mode().Perm() != 0o640 {
		t.Errorf("real.svg: %q, mode %v; want the graph and 0640", b, st.Mode().Perm())
	}

	dangling := filepath.Join(dir, "dangling.svg")
	os.Symlink(filepath.Join(dir, "new.svg"), dangling)
	if _, stderr, code := flamegen(t, "main;work 3\n", "-", "-o", dangling); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	st, err := os.Stat(filepath.Join(dir, "new.svg"))
	if err != nil {
		t.Fatal(err)
	}
	if want := 0o666 &^ umask(t); st.Mode().Perm() != want {
		t.Errorf("new file mode %v, want %v", st.Mode().Perm(), want)
	}

	private := filepath.Join(dir, "private.svg")
	os.WriteFile(private, nil, 0o600)
	os.Chmod(private, 0o600)
	flamegen(t, "main;work 3\n", "-", "-o", private)
	if st, _ := os.Stat(private); st.Mode().Perm() != 0o600 || st.Size() == 0 {
		t.Errorf("private.svg: mode %v, %d bytes", st.Mode().Perm(), st.Size())
	}

	if _, stderr, code := flamegen(t, "main;work 3\n", "-", "-o", os.DevNull); code != 0 {
		t.Errorf("-o %s: exit %d: %s", os.DevNull, code, stderr)
	}
	if _, stderr, code := flamegen(t, "main;work 3\n", "-", "-o", dir); code != 2 || !strings.Contains(stderr, "is a directory") {
		t.Errorf("-o a directory: exit %d: %s", code, stderr)
	}
	names := dirNames(t, dir)
	for _, n := range names {
		if strings.Contains(n, ".tmp-") {
			t.Errorf("temporary file left: %s (directory: %q)", n, names)
		}
	}
}

// A URL whose host does not answer the connection gives up after --timeout.
func TestURLConnectTimeout(t *testing.T) {
	addr := fullBacklog(t)
	_, stderr, code := flamegen(t, "", "--timeout", "300ms", "http://"+addr+"/debug/pprof/profile")
	if want := "no connection to " + addr + " within 300ms (--timeout)"; code != 1 || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, want)
	}
}

// fullBacklog returns the address of a listener that never accepts and whose
// queue of pending connections is full, so that connecting to it hangs, as
// to a host that drops packets. It skips the test where the kernel answers
// anyway.
func fullBacklog(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Skipf("socket: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Skipf("bind: %v", err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Skipf("listen: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Skipf("getsockname: %v", err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	for range 8 { // fill the queue until a connection hangs
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return addr
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("the kernel accepts every connection to a full queue")
	return ""
}

// umask reads the process's umask without changing it.
func umask(t *testing.T) os.FileMode {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status to read the umask from")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Umask:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			if err == nil {
				return os.FileMode(m)
			}
		}
	}
	t.Skip("no Umask line in /proc/self/status")
	return 0
}
