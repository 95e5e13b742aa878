package pyroscope_test

import (
	"context"
	"encoding/base64"
	"errors"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"
	"go.uber.org/goleak"

	"github.com/tracekit-go/tracekit/exporters/profiles"
	"github.com/tracekit-go/tracekit/exporters/pyroscope"
	"github.com/tracekit-go/tracekit/exporters/pyroscope/pyroscopetest"
	"github.com/tracekit-go/tracekit/internal/testwait"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// cpuWork is about 300 ms of CPU: a fixed amount of work rather than of
// wall time, so that a loaded machine makes the test slower, not the
// profile thinner (the profiler samples CPU time).
const cpuWork = 300_000_000

// burnCPU does a chain of dependent multiplications. Samples taken while it
// runs name it in their stacks.
//
//go:noinline
func burnCPU(iterations int) uint64 {
	var x uint64 = 1
	for i := 0; i < iterations; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

func stackHas(s *profile.Sample, fn string) bool {
	for _, loc := range s.Location {
		for _, l := range loc.Line {
			if l.Function != nil && strings.HasSuffix(l.Function.Name, fn) {
				return true
			}
		}
	}
	return false
}

func cpuUpload(t *testing.T, ups []pyroscopetest.Upload) pyroscopetest.Upload {
	t.Helper()
	for _, u := range ups {
		if len(u.Profile.SampleType) > 0 && u.Profile.SampleType[len(u.Profile.SampleType)-1].Type == "cpu" {
			return u
		}
	}
	var types []string
	for _, u := range ups {
		types = append(types, u.Profile.SampleType[0].Type)
	}
	t.Fatalf("no CPU profile among %d uploads (%v)", len(ups), types)
	return pyroscopetest.Upload{}
}

// TestUploadCarriesLabels runs the real client against a server that decodes
// its uploads, and checks the wire format, the credentials, the tags and
// that CPU samples taken under pprof labels carry them.
func TestUploadCarriesLabels(t *testing.T) {
	srv := pyroscopetest.NewServer()
	defer srv.Close()
	t.Setenv("PYROSCOPE_BASIC_AUTH_USER", "123456")
	t.Setenv("PYROSCOPE_BASIC_AUTH_PASSWORD", "glc_secret")
	var handled []error
	p, err := pyroscope.Start(context.Background(),
		pyroscope.WithServerAddress(srv.URL()),
		pyroscope.WithApplicationName("checkout"),
		pyroscope.WithTags(map[string]string{"deployment.environment.name": "test", "service.version": "1.2.3"}),
		pyroscope.WithTenantID("team-a"),
		pyroscope.WithUploadRate(time.Hour),
		pyroscope.WithProfileTypes(append(pyroscope.DefaultProfileTypes(), profiles.Mutex)...),
		pyroscope.WithErrorHandler(func(err error) { handled = append(handled, err) }),
	)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	pprof.Do(context.Background(), pprof.Labels("span_id", "00f067aa0ba902b7", "span_name", "burn"), func(context.Context) {
		burnCPU(cpuWork)
	})
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Scale(time.Minute))
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if err := srv.Err(); err != nil {
		t.Fatalf("server refused uploads: %v", err)
	}
	if len(handled) > 0 {
		t.Fatalf("client errors: %v", handled)
	}

	ups := srv.Uploads()
	kinds := map[string]bool{}
	for _, u := range ups {
		kinds[u.Profile.SampleType[0].Type] = true
		if u.App != "checkout" {
			t.Errorf("app %q in %q", u.App, u.Name)
		}
		if u.Tags["deployment.environment.name"] != "test" || u.Tags["service.version"] != "1.2.3" {
			t.Errorf("tags %v", u.Tags)
		}
		if u.SpyName != "gospy" {
			t.Errorf("spyName %q", u.SpyName)
		}
		if got, want := u.Header.Get("Authorization"), "Basic "+base64.StdEncoding.EncodeToString([]byte("123456:glc_secret")); got != want {
			t.Errorf("Authorization %q, want %q", got, want)
		}
		if got := u.Header.Get("X-Scope-OrgID"); got != "team-a" {
			t.Errorf("X-Scope-OrgID %q", got)
		}
		// Periods are aligned to the upload rate (an hour here).
		if u.Until.Before(u.From) || u.From.After(time.Now()) || u.From.Before(start.Add(-time.Hour)) {
			t.Errorf("from %v until %v", u.From, u.Until)
		}
	}
	// CPU, heap (alloc_objects first), goroutines, and the mutex profiles
	// asked for.
	for _, k := range []string{"samples", "alloc_objects", "goroutine", "contentions"} {
		if !kinds[k] {
			t.Errorf("no upload with sample type %q; got %v", k, kinds)
		}
	}

	// With GOEXPERIMENT=goroutineleakprofile the leak profile is a
	// default type (make unit runs the package so too).
	if profiles.GoroutineLeakSupported() {
		var leak bool
		for _, u := range ups {
			leak = leak || strings.Contains(string(u.SampleTypeConfig), `"goroutine_leak"`)
		}
		if !leak {
			t.Errorf("runtime has the goroutine leak profile but none was uploaded")
		}
	}

	cpu := cpuUpload(t, ups)
	if cpu.SampleRate != 100 || cpu.Units != "samples" || cpu.AggregationType != "sum" {
		t.Errorf("cpu upload: sampleRate %d units %q aggregationType %q; want 100, samples, sum", cpu.SampleRate, cpu.Units, cpu.AggregationType)
	}
	if !cpu.Until.After(start) {
		t.Errorf("cpu upload ends %v, before the profile started %v", cpu.Until, start)
	}
	var inBurn int64
	for _, s := range cpu.Profile.Sample {
		if !stackHas(s, "pyroscope_test.burnCPU") {
			continue
		}
		inBurn += s.Value[0]
		if got := s.Label["span_id"]; len(got) != 1 || got[0] != "00f067aa0ba902b7" {
			t.Fatalf("sample in burnCPU has span_id %v", got)
		}
		if got := s.Label["span_name"]; len(got) != 1 || got[0] != "burn" {
			t.Fatalf("sample in burnCPU has span_name %v", got)
		}
	}
	if inBurn < 3 { // about 30
		t.Fatalf("%d CPU samples in burnCPU; want at least 3", inBurn)
	}
}

func TestStartNeedsAddress(t *testing.T) {
	t.Setenv("PYROSCOPE_SERVER_ADDRESS", "")
	_, err := pyroscope.Start(context.Background())
	if !errors.Is(err, pyroscope.ErrNoServerAddress) {
		t.Fatalf("Start without address: %v, want ErrNoServerAddress", err)
	}
}

func TestStartRejectsBadTag(t *testing.T) {
	srv := pyroscopetest.NewServer()
	defer srv.Close()
	_, err := pyroscope.Start(context.Background(), pyroscope.WithServerAddress(srv.URL()),
		pyroscope.WithTags(map[string]string{"bad key": "x"}))
	if err == nil {
		t.Fatal("Start accepted a tag key with a space")
	}
}

func TestParseName(t *testing.T) {
	tests := []struct {
		in   string
		app  string
		tags string
		ok   bool
	}{
		{"checkout", "checkout", "", true},
		{"checkout{}", "checkout", "", true},
		{"checkout{a=1,b=2}", "checkout", "a=1 b=2", true},
		{"checkout{a=1", "", "", false},
		{"checkout{=1}", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			app, tags, err := pyroscopetest.ParseName(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("err %v", err)
			}
			if !tt.ok {
				return
			}
			var kv []string
			for _, k := range []string{"a", "b"} {
				if v, ok := tags[k]; ok {
					kv = append(kv, k+"="+v)
				}
			}
			if app != tt.app || strings.Join(kv, " ") != tt.tags || len(tags) != len(kv) {
				t.Fatalf("got %q %v", app, tags)
			}
		})
	}
}

func FuzzParseName(f *testing.F) {
	f.Add("checkout{a=1,b=2}")
	f.Add("x")
	f.Fuzz(func(t *testing.T, name string) {
		app, tags, err := pyroscopetest.ParseName(name)
		if err != nil {
			return
		}
		if !strings.HasPrefix(name, app) {
			t.Fatalf("app %q is not a prefix of %q", app, name)
		}
		for k := range tags {
			if k == "" {
				t.Fatalf("empty tag key from %q", name)
			}
		}
	})
}

// TestServerGone checks that a refused upload reaches the error handler
// and that Shutdown still returns promptly.
func TestServerGone(t *testing.T) {
	srv := pyroscopetest.NewServer()
	addr := srv.URL()
	srv.Close() // nothing listens there any more
	errs := make(chan error, 100)
	p, err := pyroscope.Start(context.Background(), pyroscope.WithServerAddress(addr),
		pyroscope.WithUploadRate(time.Hour),
		pyroscope.WithErrorHandler(func(err error) {
			select {
			case errs <- err:
			default:
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	burnCPU(cpuWork / 10)
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Scale(time.Minute))
	defer cancel()
	// Shutdown returns ctx's error if the stop outlives the deadline.
	if err := p.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	select {
	case err := <-errs:
		if !strings.Contains(err.Error(), "upload") {
			t.Fatalf("handler got %v, want an upload error", err)
		}
	default:
		t.Fatal("no error reported for uploads to a closed port")
	}
}

// TestWithoutCPU checks that a client without the CPU profile still shuts
// down (the client's flush would wait forever for a CPU collector that
// never ran) and that Flush says it cannot flush.
func TestWithoutCPU(t *testing.T) {
	srv := pyroscopetest.NewServer()
	defer srv.Close()
	p, err := pyroscope.Start(context.Background(), pyroscope.WithServerAddress(srv.URL()),
		pyroscope.WithProfileTypes(profiles.Goroutine, profiles.Heap))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Scale(time.Minute))
	defer cancel()
	if err := p.Flush(ctx); !errors.Is(err, pyroscope.ErrNoFlush) {
		t.Fatalf("Flush without cpu: %v, want ErrNoFlush", err)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown without cpu: %v", err)
	}
}
