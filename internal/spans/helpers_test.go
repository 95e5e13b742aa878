package spans

import (
	"bytes"
	"io"
	"testing"

	"github.com/tracekit-go/tracekit/internal/spans/internal/gen"
)

func writeGenerated(t *testing.T, w io.Writer, traces, per int) {
	t.Helper()
	if err := gen.WriteOTLP(w, gen.Traces(7, traces, per), 64); err != nil {
		t.Fatal(err)
	}
}

func readGenerated(t *testing.T, traces, per int) *Set {
	t.Helper()
	var buf bytes.Buffer
	writeGenerated(t, &buf, traces, per)
	set, err := Read(&buf, "generated")
	if err != nil {
		t.Fatal(err)
	}
	if set.NumTraces() != traces || set.Len() != traces*per {
		t.Fatalf("%d traces, %d spans", set.NumTraces(), set.Len())
	}
	return set
}
