package spans

import (
	"testing"

	"go.uber.org/goleak"
)

// The package starts no goroutines, but its tests run tracekit and HTTP
// servers: none may outlive them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
