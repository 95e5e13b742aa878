package detect

import (
	"github.com/tracekit-go/tracekit/internal/kittest"
)

// testDetector makes a detector with the test's own report sink and
// logger. Inside a synctest bubble, call it in the bubble and close it
// before the bubble ends.
func testDetector(cfg Config) (*Detector, *kittest.Reports) {
	r := &kittest.Reports{}
	cfg.OnReport = r.Add
	cfg.Logger = r.Logger()
	return New(cfg), r
}
