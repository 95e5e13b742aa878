package sdk

import (
	"go.opentelemetry.io/otel/trace"
)

// testTracer is what the tests start their own spans with.
func testTracer(k *Kit) trace.Tracer { return k.TracerProvider().Tracer("test") }
