package tasks

// RecordsByGoid maps the goroutine ID of every running task to the task,
// in one pass over the registry: for a report that follows waits from
// task to task. Empty where goroutine IDs cannot be read cheaply.
func RecordsByGoid() map[uint64]*Record {
	out := map[uint64]*Record{}
	eachGoid(func(g uint64, r *Record) bool {
		out[g] = r
		return true
	})
	return out
}
