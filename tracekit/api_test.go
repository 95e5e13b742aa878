package tracekit

import (
	"go/ast"
	"go/build"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The instrumentation API stays small: at most this many exported names,
// top-level and methods.
const maxExports = 120

// exports counts the exported names of the package in dir (top-level
// constants, variables, functions and types, and the types' methods), as
// the build selects its files.
func exports(t *testing.T, dir string) (n int, names []string) {
	t.Helper()
	bp, err := build.Default.ImportDir(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range bp.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	d, err := doc.NewFromFiles(fset, files, bp.ImportPath)
	if err != nil {
		t.Fatal(err)
	}
	values := func(vs []*doc.Value) {
		for _, v := range vs {
			names = append(names, v.Names...)
		}
	}
	values(d.Consts)
	values(d.Vars)
	for _, f := range d.Funcs {
		names = append(names, f.Name)
	}
	for _, ty := range d.Types {
		names = append(names, ty.Name)
		values(ty.Consts)
		values(ty.Vars)
		for _, f := range ty.Funcs {
			names = append(names, f.Name)
		}
		for _, m := range ty.Methods {
			names = append(names, ty.Name+"."+m.Name)
		}
	}
	return len(names), names
}

func TestAPIExportsFew(t *testing.T) {
	n, names := exports(t, ".")
	if n > maxExports {
		t.Errorf("package tracekit exports %d names, more than %d:\n%s", n, maxExports, strings.Join(names, "\n"))
	}
	t.Logf("%d exported names", n)
}

// goTool runs the go command in dir and returns its output.
func goTool(t *testing.T, dir string, args ...string) []byte {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	cmd := exec.Command(gobin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// Library authors import tracekit without the SDK, exporters, gRPC or the
// profilers: the package links the OpenTelemetry API alone.
func TestAPIDependencies(t *testing.T) {
	forbidden := []string{
		"go.opentelemetry.io/otel/sdk", "go.opentelemetry.io/otel/exporters", "google.golang.org/grpc",
		"github.com/grafana/pyroscope-go", "github.com/google/pprof", "github.com/tracekit-go/tracekit/exporters",
		"github.com/tracekit-go/tracekit/tracekit/sdk",
	}
	for _, tags := range []string{"", "tracekit_nosync"} {
		deps := strings.Fields(string(goTool(t, ".", "list", "-tags", tags, "-deps", ".")))
		for _, dep := range deps {
			for _, f := range forbidden {
				if dep == f || strings.HasPrefix(dep, f+"/") {
					t.Errorf("tags %q: package tracekit depends on %s", tags, dep)
				}
			}
		}
	}
}

// A program that only locks a tracekit.Mutex stays small.
func TestAPIMutexProgramSize(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	const maxSize = 8 << 20
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"go.mod": "module mutexonly\n\ngo 1.26\n\nrequire github.com/tracekit-go/tracekit v0.0.0\n\nreplace github.com/tracekit-go/tracekit => " + root + "\n",
		"go.sum": string(sum),
		"main.go": `package main

import "github.com/tracekit-go/tracekit/tracekit"

var mu tracekit.Mutex

func main() {
	mu.Lock()
	mu.Unlock()
}
`,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "prog")
	goTool(t, dir, "build", "-o", bin, ".")
	fi, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > maxSize {
		t.Errorf("a program that only locks a tracekit.Mutex is %.1f MiB, more than %d MiB", float64(fi.Size())/(1<<20), maxSize>>20)
	}
	t.Logf("%.2f MiB", float64(fi.Size())/(1<<20))
}
