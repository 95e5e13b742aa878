// Command gentestdata writes the span decoders' test inputs: the same
// generated traces as OTLP JSON lines, as one pretty-printed OTLP request,
// as OTLP protobuf (one raw request, and length-prefixed requests), and as
// a Jaeger /api/traces response (times in whole microseconds, so
// that every format holds exactly the same data).
//
//	go run ./internal/gen/cmd/gentestdata -dir testdata
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tracekit-go/tracekit/internal/spans/internal/gen"
)

func main() {
	dir := flag.String("dir", "testdata", "output directory")
	flag.Parse()
	if err := run(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "gentestdata:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	traces := gen.Traces(42, 12, 15)
	for _, tr := range traces {
		for i := range tr {
			tr[i].Start -= tr[i].Start % 1000
			tr[i].End -= tr[i].End % 1000
		}
	}
	var lines bytes.Buffer
	if err := gen.WriteOTLP(&lines, traces, 40); err != nil {
		return err
	}
	var one bytes.Buffer
	if err := gen.WriteOTLP(&one, traces[:2], 1000); err != nil {
		return err
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, bytes.TrimSpace(one.Bytes()), "", "  "); err != nil {
		return err
	}
	pretty.WriteByte('\n')
	var jaeger bytes.Buffer
	if err := gen.WriteJaeger(&jaeger, traces); err != nil {
		return err
	}
	var raw, framed bytes.Buffer
	if err := gen.WriteProto(&raw, traces, 0, false); err != nil {
		return err
	}
	if err := gen.WriteProto(&framed, traces, 40, true); err != nil {
		return err
	}
	for name, b := range map[string][]byte{
		"traces.pb":          raw.Bytes(),
		"traces-framed.pb":   framed.Bytes(),
		"traces.jsonl":       lines.Bytes(),
		"pretty.json":        pretty.Bytes(),
		"traces-jaeger.json": jaeger.Bytes(),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
