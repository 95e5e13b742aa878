package profiles_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tracekit-go/tracekit/exporters/profiles"
)

// Write rotating profiles into a directory: a CPU profile every window and
// heap and goroutine snapshots beside it, at most 20 files and 8 MiB.
func ExampleStart() {
	dir, err := os.MkdirTemp("", "profiles")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	p, err := profiles.Start(dir,
		profiles.WithWindow(10*time.Second),
		profiles.WithTypes(profiles.CPU, profiles.Heap, profiles.Goroutine),
		profiles.WithMaxFiles(20),
		profiles.WithMaxBytes(8<<20),
	)
	if err != nil {
		log.Fatal(err)
	}
	// ... the program runs ...
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Shutdown(shutdownCtx); err != nil {
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
	// goroutine
}
