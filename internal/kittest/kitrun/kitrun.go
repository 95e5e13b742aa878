// Package kitrun starts a Kit for the tests of packages built on the SDK
// (the middleware's): its spans kept, its reports collected. It is apart
// from package kittest, which the SDK's own tests import.
package kitrun

import (
	"context"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
)

// Kit is a running Kit with what it exported and reported.
type Kit struct {
	*sdk.Kit
	Spans   *kittest.Keeper
	Reports *kittest.Reports
}

// Start starts a Kit (installed as the globals, with its detectors) whose
// spans and reports the returned Kit keeps, with no metrics and no memory
// watch, and opts; it is shut down when the test ends.
func Start(t testing.TB, opts ...sdk.Option) *Kit {
	t.Helper()
	k := &Kit{Spans: &kittest.Keeper{}, Reports: &kittest.Reports{}}
	kit, err := sdk.Start(context.Background(), append([]sdk.Option{
		sdk.WithSpanExporter(k.Spans), sdk.WithMetricsExporter(sdk.ExporterNone), sdk.WithoutMemoryWatch(),
		sdk.WithReportHandler(k.Reports.Add),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	k.Kit = kit
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = kit.Shutdown(ctx)
	})
	return k
}

// ByName flushes the Kit and returns the spans it exported so far, by
// name.
func (k *Kit) ByName(t testing.TB) map[string][]sdktrace.ReadOnlySpan {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := k.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	out := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range k.Spans.Spans() {
		out[s.Name()] = append(out[s.Name()], s)
	}
	return out
}
