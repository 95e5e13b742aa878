package pyroscope_test

import (
	"context"
	"fmt"
	"log"
	"runtime/pprof"
	"time"

	"github.com/tracekit-go/tracekit/exporters/pyroscope"
	"github.com/tracekit-go/tracekit/exporters/pyroscope/pyroscopetest"
)

// Profile a labelled piece of work and upload it. A pyroscopetest server
// stands in for Pyroscope; in production WithServerAddress (or
// PYROSCOPE_SERVER_ADDRESS) names the real one.
func Example() {
	srv := pyroscopetest.NewServer()
	defer srv.Close()

	p, err := pyroscope.Start(context.Background(),
		pyroscope.WithServerAddress(srv.URL()),
		pyroscope.WithApplicationName("checkout"),
		pyroscope.WithTags(map[string]string{"deployment.environment.name": "staging"}),
	)
	if err != nil {
		log.Fatal(err)
	}
	pprof.Do(context.Background(), pprof.Labels("span_name", "price"), func(context.Context) {
		burnCPU(cpuWork / 2)
	})
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Shutdown(shutdownCtx); err != nil {
		log.Fatal(err)
	}

	// Heap and goroutine profiles are uploaded beside the CPU profile.
	for _, u := range srv.Uploads() {
		if u.Profile.SampleType[0].Type == "samples" {
			fmt.Println("cpu profile of", u.App, "in", u.Tags["deployment.environment.name"])
			break
		}
	}
	// Output:
	// cpu profile of checkout in staging
}
