package flame

import (
	"bytes"
	"runtime"
	"runtime/pprof"
	"sync"
	"testing"
	"time"
)

// Profiles written by the Go runtime itself, in every form it writes them,
// decode through content detection alone.
func TestRuntimeProfiles(t *testing.T) {
	runtime.SetMutexProfileFraction(1)
	runtime.SetBlockProfileRate(1)
	defer runtime.SetMutexProfileFraction(0)
	defer runtime.SetBlockProfileRate(0)
	// Contend a mutex and block on a channel so that those profiles have
	// samples.
	var mu sync.Mutex
	var wg sync.WaitGroup
	ch := make(chan int)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				mu.Lock()
				time.Sleep(10 * time.Microsecond)
				mu.Unlock()
			}
		}()
	}
	go func() { time.Sleep(5 * time.Millisecond); ch <- 1 }()
	<-ch
	wg.Wait()
	sink = make([]byte, 1<<20)
	// The heap profile shows the heap as of the last completed collection:
	// without one since the allocation, in-use can be empty.
	runtime.GC()

	tests := []struct {
		profile    string
		debug      int
		sampleType string
		unit       string
	}{
		{"heap", 0, "inuse_space", "bytes"},
		{"allocs", 0, "alloc_space", "bytes"},
		{"goroutine", 0, "goroutine", "count"},
		{"goroutine", 1, "goroutine", "count"},
		{"mutex", 0, "delay", "nanoseconds"},
		{"block", 0, "delay", "nanoseconds"},
		{"threadcreate", 0, "threadcreate", "count"},
	}
	for _, tt := range tests {
		t.Run(tt.profile, func(t *testing.T) {
			var b bytes.Buffer
			if err := pprof.Lookup(tt.profile).WriteTo(&b, tt.debug); err != nil {
				t.Fatal(err)
			}
			tr, err := Decode(&b, tt.profile)
			if err != nil {
				t.Fatal(err)
			}
			if tr.SampleType != tt.sampleType || tr.Unit != tt.unit {
				t.Errorf("sample type %s/%s, want %s/%s", tr.SampleType, tr.Unit, tt.sampleType, tt.unit)
			}
			if tt.profile != "threadcreate" && tr.Total() <= 0 {
				t.Errorf("no samples in the %s profile", tt.profile)
			}
		})
	}
}

var sink []byte
