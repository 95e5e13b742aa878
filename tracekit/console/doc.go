// Package console serves tracekit's live console, like tokio-console's task
// list: [Handler] lists the running tasks started by tracekit.Go and
// Group.Go (what each waits on, who holds the lock it waits on, its spawn
// site and its warnings), the locks and channels tasks wait on, the latest
// reports of the running detectors and a memory line, with a page per task
// that adds its goroutine's stack and a link to its trace. ?format=json
// gives the same data to programs.
//
// The warnings use the running detectors' thresholds (package sdk): a wait
// past the hang timeout, on the waiter and on the holder, a task outliving
// its parent, the tasks of a spawn site that keeps growing. With no
// detector running, waits are marked past the default hang timeout and the
// console samples spawn growth itself as it is viewed. See ExampleHandler.
package console
