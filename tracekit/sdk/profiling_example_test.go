package sdk_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tracekit-go/tracekit/exporters/profiles"
	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
)

// Profile a service into local pprof files. Every CPU sample taken while a
// span was active carries its span_id, span_name and trace_id labels;
// `go tool pprof -tagfocus span_name=price cpu-*.pb.gz` shows one span's
// code. ProfileToPyroscope sends them to Pyroscope instead, or beside.
func ExampleWithProfiling() {
	dir, err := os.MkdirTemp("", "profiles")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	kit, err := sdk.Start(ctx, sdk.WithServiceName("checkout"),
		sdk.WithTracesExporter(sdk.ExporterNone), sdk.WithoutGlobals(),
		sdk.WithProfiling(sdk.ProfileToDir(dir, profiles.WithWindow(10*time.Second))))
	if err != nil {
		log.Fatal(err)
	}
	ctx, span := kit.TracerProvider().Tracer("checkout").Start(ctx, "price")
	task := tracekit.Go(ctx, "fetch-prices", func(context.Context) error {
		return nil // its goroutine is labelled with the task's span
	})
	_ = task.Wait()
	span.End()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := kit.Shutdown(shutdownCtx); err != nil { // writes the last window's profiles
		log.Fatal(err)
	}

	files, err := profiles.Files(dir)
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range files {
		kind, _, _ := strings.Cut(filepath.Base(f), "-")
		fmt.Println(kind)
	}
	// Output:
	// cpu
	// heap
}
