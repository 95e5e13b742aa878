// Package console serves tracekit's live console, like tokio-console's task
// list: [Handler] lists the running tasks started by tracekit.Go and
// Group.Go (what each waits on, who holds the lock it waits on, its spawn
// site and its warnings), a page at a time with the most interesting
// first, the locks and channels tasks wait on, the latest reports of the
// running detectors and a memory line, with a page per task that adds its
// goroutine's stack and a link to its trace. ?format=json gives the same
// data to programs.
//
// The warnings use the running detectors' thresholds (package sdk): a wait
// past the hang timeout, on the waiter and on the holder, a task outliving
// its parent, the tasks of a spawn site that keeps growing. With no
// detector running, waits are marked past the default hang timeout and the
// console samples spawn growth itself as it reads the tasks. See
// ExampleHandler.
//
// The console is made to be left on in production. It never stops the
// program for long: a task's stack comes from the goroutine profile, found
// by the pprof label (tracekit_task) that every task started after the
// first Handler call puts on its goroutine. Its costly work is shared
// between requests and kept to about a tenth of a core. It answers only
// requests for IP literals, localhost and the hosts of [WithAllowedHosts],
// refuses what other sites' pages make the browser fetch, and sends a
// Content-Security-Policy that lets in nothing but its own style and
// script.
package console
