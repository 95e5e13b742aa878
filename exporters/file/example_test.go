package file_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tracekit-go/tracekit/exporters/file"
)

// request is the part of an OTLP JSON line these examples print.
type request struct {
	ResourceSpans []struct {
		ScopeSpans []struct {
			Scope struct {
				Name string `json:"name"`
			} `json:"scope"`
			Spans []struct {
				Name       string `json:"name"`
				Kind       int    `json:"kind"`
				Attributes []struct {
					Key   string          `json:"key"`
					Value json.RawMessage `json:"value"`
				} `json:"attributes"`
			} `json:"spans"`
		} `json:"scopeSpans"`
	} `json:"resourceSpans"`
}

// Register the exporter with a TracerProvider. WithSyncer exports each span
// as it ends, so every span becomes a line; sdktrace.WithBatcher would write
// one line per batch.
func Example() {
	var out bytes.Buffer
	exp := file.NewWriter(&out)
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSyncer(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "example"))),
	)

	_, span := tp.Tracer("example/checkout").Start(context.Background(), "checkout")
	span.SetAttributes(attribute.Int("items", 3), attribute.Float64("ratio", 0.5))
	span.End()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tp.Shutdown(shutdownCtx); err != nil { // shuts the exporter down too
		log.Fatal(err)
	}

	var req request
	if err := json.Unmarshal(out.Bytes(), &req); err != nil {
		log.Fatal(err)
	}
	ss := req.ResourceSpans[0].ScopeSpans[0]
	s := ss.Spans[0]
	fmt.Println("scope:", ss.Scope.Name)
	fmt.Println("span:", s.Name, "kind", s.Kind)
	for _, a := range s.Attributes {
		fmt.Printf("%s = %s\n", a.Key, a.Value)
	}
	// Output:
	// scope: example/checkout
	// span: checkout kind 1
	// items = {"intValue":"3"}
	// ratio = {"doubleValue":0.5}
}

// New appends to a file, one line per export; the Collector's otlpjsonfile
// receiver, ptrace.JSONUnmarshaler and jq all read it line by line.
func ExampleNew() {
	dir, err := os.MkdirTemp("", "tracekit-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "traces.jsonl")

	exp, err := file.New(path, file.WithSyncEveryExport())
	if err != nil {
		log.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	tr := tp.Tracer("example")
	for _, name := range []string{"first", "second"} {
		_, span := tr.Start(context.Background(), name)
		span.End()
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tp.Shutdown(shutdownCtx); err != nil {
		log.Fatal(err)
	}

	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		var req request
		if err := json.Unmarshal(lines.Bytes(), &req); err != nil {
			log.Fatal(err)
		}
		fmt.Println(req.ResourceSpans[0].ScopeSpans[0].Spans[0].Name)
	}
	// Output:
	// first
	// second
}

// AppendRequest is the encoder on its own, for code that frames or ships
// the JSON itself.
func ExampleAppendRequest() {
	spans := tracetest.SpanStubs{
		{Name: "a"},
		{Name: "b"},
	}.Snapshots()
	buf := file.AppendRequest(nil, spans)
	fmt.Println(string(buf))
	// Output:
	// {"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{},"spans":[{"flags":256,"name":"a","status":{}},{"flags":256,"name":"b","status":{}}]}]}]}
}
