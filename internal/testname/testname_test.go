package testname

import (
	"strings"
	"testing"
	"unicode"
)

func TestFromFunc(t *testing.T) {
	for _, tt := range []struct{ fn, want string }{
		{"example.com/pkg.TestServe", "TestServe"},
		{"example.com/pkg_test.TestServe.func1.2", "TestServe"},
		{"example.com/pkg.TestServe.gowrap1", "TestServe"},
		{"gopkg.in/yaml%2ev3.TestDecode", "TestDecode"}, // a dot in the package name is escaped
		{"github.com/a/b.v1/pkg.BenchmarkGet", "BenchmarkGet"},
		{"pkg.FuzzParse.func1", "FuzzParse"},
		{"pkg.ExampleGo", "ExampleGo"},
		{"pkg.Example_second", "Example_second"},
		{"pkg.Test", "Test"},
		{"pkg.Test1", "Test1"},
		{"main.TestÉté", "TestÉté"},
		{"pkg.Testify", ""}, // lower case after the prefix: not a test
		{"pkg.Examples", ""},
		{"pkg.(*T).TestX", ""}, // a method
		{"pkg.helper", ""},
		{"testing.tRunner", ""},
		{"runtime.goexit", ""},
		{"TestNoPackage", ""},
		{"", ""},
	} {
		if got := FromFunc(tt.fn); got != tt.want {
			t.Errorf("FromFunc(%q) = %q, want %q", tt.fn, got, tt.want)
		}
	}
}

// Note finds this test from a helper below it, once per goroutine, and only
// when enabled.
func TestNote(t *testing.T) {
	const g = 1 << 62 // an ID no goroutine has
	t.Cleanup(func() { origins.Delete(uint64(g)); on.Store(false) })
	noteFromHelper(g)
	if got := Of(g); got != "" {
		t.Fatalf("disabled, Note recorded %q", got)
	}
	Enable()
	noteFromHelper(g)
	if got := Of(g); got != "TestNote" {
		t.Fatalf("Of = %q, want TestNote", got)
	}
	done := make(chan string)
	go func() {
		noteFromHelper(g + 1) // a goroutine of this test, started with go
		done <- Of(g + 1)
	}()
	if got := <-done; got != "TestNote" {
		t.Errorf("from the test's own goroutine Of = %q, want TestNote", got)
	}
	origins.Delete(uint64(g + 1))
}

//go:noinline
func noteFromHelper(g uint64) { Note(g, 1) }

// A goroutine whose stack holds no test records nothing.
func TestNoteOutsideTests(t *testing.T) {
	const g = 1<<62 + 10
	Enable()
	t.Cleanup(func() { on.Store(false) })
	done := make(chan struct{})
	go noteAndClose(g, done) // runs a plain function, no closure of the test
	<-done
	if got := Of(g); got != "" {
		t.Errorf("Of = %q for a goroutine whose stack has no test", got)
	}
}

func noteAndClose(g uint64, done chan struct{}) {
	defer close(done)
	Note(g, 0)
}

// FromFunc never panics, and what it returns is a test name found in fn.
func FuzzFromFunc(f *testing.F) {
	f.Add("example.com/pkg_test.TestServe.func1.2")
	f.Add("pkg.(*T).TestX")
	f.Add("a/b.c/d.Benchmark_x")
	f.Fuzz(func(t *testing.T, fn string) {
		got := FromFunc(fn)
		if got == "" {
			return
		}
		if !strings.Contains(fn, "."+got) {
			t.Fatalf("FromFunc(%q) = %q, not in the name", fn, got)
		}
		ok := false
		for _, p := range []string{"Test", "Benchmark", "Fuzz", "Example"} {
			if tail, found := strings.CutPrefix(got, p); found {
				ok = tail == "" || !unicode.IsLower([]rune(tail)[0])
			}
		}
		if !ok {
			t.Fatalf("FromFunc(%q) = %q, not a test name", fn, got)
		}
	})
}
