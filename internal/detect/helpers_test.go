package detect

import (
	"bytes"
	"log/slog"
	"sync"

	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// reports collects what a test detector reports.
type reports struct {
	mu   sync.Mutex
	list []inspect.Report
	log  bytes.Buffer // the slog records
}

func (r *reports) add(rep inspect.Report) {
	r.mu.Lock()
	r.list = append(r.list, rep)
	r.mu.Unlock()
}

func (r *reports) all() []inspect.Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]inspect.Report(nil), r.list...)
}

func (r *reports) logged() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.String()
}

type reportLogWriter struct{ r *reports }

func (w reportLogWriter) Write(p []byte) (int, error) {
	w.r.mu.Lock()
	defer w.r.mu.Unlock()
	return w.r.log.Write(p)
}

// testDetector makes a detector with the test's own report sink and
// logger. Inside a synctest bubble, call it in the bubble and close it
// before the bubble ends.
func testDetector(cfg Config) (*Detector, *reports) {
	r := &reports{}
	cfg.OnReport = r.add
	cfg.Logger = slog.New(slog.NewTextHandler(reportLogWriter{r}, nil))
	return New(cfg), r
}
