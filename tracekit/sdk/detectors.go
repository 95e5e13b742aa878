package sdk

import (
	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/internal/semconv"
)

// startDetectors makes the Kit's detector, with its lint sweep and memory
// watch, and makes it the detector tracekit's locks and channels report
// to, as the Kit's providers become the OpenTelemetry globals. A Kit
// started WithoutGlobals makes none: its clock goroutine would serve
// nobody.
func (k *Kit) startDetectors(cfg *config) {
	if cfg.noGlobals {
		return
	}
	dc := cfg.detectorConfig()
	dc.Meter = k.mp.Meter(semconv.ScopeName)
	k.det = detect.New(dc)
	detect.Install(k.det)
	k.det.StartLints(cfg.lintConfig())
	k.mem.Start(k.det)
}

// stopDetectors detaches and stops the Kit's detector, lints and memory
// watch. Safe to call twice.
func (k *Kit) stopDetectors() {
	k.mem.Stop()
	if k.det == nil {
		return
	}
	detect.Uninstall(k.det)
	k.det.Close()
}
