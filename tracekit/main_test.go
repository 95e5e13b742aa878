package tracekit

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine a test starts, tracekit's own and the exporters', must be
// gone when the tests end.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
