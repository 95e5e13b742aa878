//go:build !tracekit_nosync

package tracekit

// locksTracked says a task blocked on a tracekit lock shows as waiting.
const locksTracked = true

// detectedMutex returns a Mutex reporting to d, named name.
func detectedMutex(d *detector, name string) *Mutex {
	m := &Mutex{}
	m.det = d
	m.SetName(name)
	return m
}
