package tracekit_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tracekit-go/tracekit/exporters/file"
	"github.com/tracekit-go/tracekit/tracekit"
)

// Profile a service into local pprof files. Every CPU sample taken while a
// span was active carries its span_id, span_name and trace_id labels;
// `go tool pprof -tagfocus span_name=price cpu-*.pb.gz` shows one span's
// code. With PYROSCOPE_SERVER_ADDRESS set the profiles go to Pyroscope
// instead.
func ExampleWithProfileDir() {
	dir, err := os.MkdirTemp("", "profiles")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	kit, err := tracekit.Start(ctx, tracekit.WithServiceName("checkout"),
		tracekit.WithTracesExporter(tracekit.ExporterNone), tracekit.WithoutGlobals(),
		tracekit.WithProfileDir(dir, file.WithProfileWindow(10*time.Second)))
	if err != nil {
		log.Fatal(err)
	}
	ctx, span := kit.Tracer().Start(ctx, "price")
	task := tracekit.Go(ctx, "fetch-prices", func(context.Context) error {
		return nil // its goroutine is labelled with the task's span
	})
	_ = task.Wait()
	span.End()
	if err := kit.Shutdown(ctx); err != nil {
		log.Fatal(err)
	}

	files, err := file.ProfileFiles(dir)
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
