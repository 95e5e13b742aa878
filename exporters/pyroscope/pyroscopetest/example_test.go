package pyroscopetest_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/tracekit-go/tracekit/exporters/pyroscope"
	"github.com/tracekit-go/tracekit/exporters/pyroscope/pyroscopetest"
)

// Point the real client at the server and read back what it uploaded.
func Example() {
	srv := pyroscopetest.NewServer()
	defer srv.Close()

	p, err := pyroscope.Start(context.Background(),
		pyroscope.WithServerAddress(srv.URL()),
		pyroscope.WithApplicationName("checkout"))
	if err != nil {
		log.Fatal(err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Shutdown(shutdownCtx); err != nil {
		log.Fatal(err)
	}
	if err := srv.Err(); err != nil {
		log.Fatal(err)
	}
	// CPU, heap and goroutine profiles arrive, each its own upload.
	for _, u := range srv.Uploads() {
		if u.Profile.SampleType[0].Type == "goroutine" {
			fmt.Println(u.App, u.SpyName, u.Units, u.AggregationType)
			break
		}
	}
	// Output:
	// checkout gospy goroutines average
}
