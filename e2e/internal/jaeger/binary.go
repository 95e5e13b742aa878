package jaeger

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// scriptName is the build script in the e2e module's root directory.
const scriptName = "jaegerbin.sh"

// Build runs e2e/jaegerbin.sh and returns the path of the Jaeger binary it
// prints. The script builds Jaeger only when its cache holds no binary yet,
// which takes about 15 minutes on two cores (longer than go test's default
// -timeout, so run the script once beforehand or raise -timeout); otherwise
// it returns at once. Its progress messages go to progress, which may be nil.
//
// Environment: TRACEKIT_CACHE, read by the script, chooses the cache
// directory (default ${XDG_CACHE_HOME:-$HOME/.cache}/tracekit).
//
// Build is usable from TestMain, which has no testing.TB.
func Build(ctx context.Context, progress io.Writer) (string, error) {
	script, err := findScript()
	if err != nil {
		return "", err
	}
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, "/bin/sh", script)
	cmd.Stdout = &stdout
	cmd.Stderr = progress
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("run %s: %w", script, err)
	}
	bin := strings.TrimSpace(stdout.String())
	if fi, err := os.Stat(bin); err != nil || fi.IsDir() {
		return "", fmt.Errorf("run %s: printed %q, which is not a file", script, bin)
	}
	return bin, nil
}

// TestingT is the part of [testing.TB] that [Binary] uses.
type TestingT interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Binary returns the path of the Jaeger binary like [Build], building it when
// it is missing. A failed build fails the test with the script's output;
// Binary never skips, because a skipped end-to-end test hides a broken setup.
// Progress of a running build is shown on stderr as it happens.
func Binary(t TestingT) string {
	t.Helper()
	var out bytes.Buffer
	bin, err := Build(context.Background(), io.MultiWriter(os.Stderr, &out))
	if err != nil {
		t.Fatalf("build jaeger: %v\n%s", err, tailOf(out.Bytes(), logTailSize))
	}
	return bin
}

// findScript locates jaegerbin.sh next to this package's source, or else in
// the working directory or one of its parents (a binary built with -trimpath
// has no source paths).
func findScript() (string, error) {
	var tried []string
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		p := filepath.Join(filepath.Dir(file), "..", "..", scriptName)
		if isFile(p) {
			return p, nil
		}
		tried = append(tried, p)
	}
	dir, err := os.Getwd()
	if err == nil {
		for {
			for _, p := range []string{filepath.Join(dir, scriptName), filepath.Join(dir, "e2e", scriptName)} {
				if isFile(p) {
					return p, nil
				}
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
		tried = append(tried, "the working directory and its parents")
	}
	return "", fmt.Errorf("find %s: looked in %s: %w", scriptName, strings.Join(tried, ", "), fs.ErrNotExist)
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

func tailOf(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
