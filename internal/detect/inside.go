package detect

import "time"

// What the detector's clock and recorder are doing, for the tests of the
// locks that use them.

// Tick is how often the coarse clock is refreshed while it ticks.
func (d *Detector) Tick() time.Duration { return d.tick }

// Coarse reads the coarse clock as a lock does, without waking it.
func (d *Detector) Coarse() int64 { return d.coarse.Load() }

// SetCoarse sets the coarse clock, as a refresh that lags would leave it.
func (d *Detector) SetCoarse(ns int64) { d.coarse.Store(ns) }

// ClockIdle reports whether the coarse clock sleeps for want of use.
func (d *Detector) ClockIdle() bool { return d.clockState.Load() == clockIdle }

// ClockIdleAfter is how long the coarse clock ticks unused before it
// sleeps.
const ClockIdleAfter = clockIdleAfter

// Recording reports whether the flight recorder runs.
func (d *Detector) Recording() bool { return d.flight != nil }

// SampleEvery is how many acquisitions of a lock there are to each one
// whose hold is timed exactly for the tracekit.lock.hold histogram.
const SampleEvery = sampleEvery
