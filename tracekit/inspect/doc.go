// Package inspect is the vocabulary of what tracekit finds in a running
// program: the [Report] a detector makes (lock-order inversions, hangs,
// long holds, leaks in progress, memory near its limit) and the running
// tasks ([Tasks]) with what each waits on and who holds it.
//
// It is as light as package tracekit: a report handler, a console or a
// test reads these types without linking the SDK. See ExampleTasks.
package inspect
