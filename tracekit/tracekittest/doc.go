// Package tracekittest holds test helpers for programs that use tracekit:
// leak checks in the style of goleak that read goroutine stacks (and the
// runtime's goroutineleak profile when the binary has it), a timeout
// wrapper that fails a hung test with a goroutine dump grouped by identical
// stacks, tracekit's detectors run so that any report fails the test
// ([Detect], [Detecting]), and an in-memory span recorder to assert on.
//
//	func TestMain(m *testing.M) { tracekittest.VerifyTestMain(m) }
//
//	func TestWorker(t *testing.T) {
//		defer tracekittest.VerifyNoLeaks(t)
//		rec := tracekittest.NewRecorder(t)
//		tracekittest.RunWithTimeout(t, 5*time.Second, func(ctx context.Context) {
//			ctx, root := rec.Start(ctx, "test")
//			defer root.End()
//			...
//		})
//	}
//
// The helpers take the small [TestingT] and [TestingM] interfaces that
// *testing.T and *testing.M satisfy. See the Example.
//
// # Detectors
//
// [Detect] starts a Kit (package sdk) with lock-order detection on for a
// test and fails the test on each report the detectors make: a lock-order
// inversion the first time the test takes both paths, a deadlock, a hang,
// a long hold, a task lint. [Detecting] does it for every test of a
// package, in TestMain, and [VerifyTestMain] does it by itself when
// TRACEKIT_DEADLOCK is on, so that CI catches inversions:
//
//	func TestMain(m *testing.M) { tracekittest.VerifyTestMain(tracekittest.Detecting(m)) }
//
// # Parallel tests
//
// A goroutine-dump leak check cannot tell whose goroutines it sees, so
// goleak cannot be used in tests that call t.Parallel. [VerifyNoLeaks]
// can: it blames a test only for goroutines that descend from the test's
// goroutine ([StartedByCaller]): started by it; started by a
// goroutine it started that is still running; or started, directly or
// untracked, by any chain of tracekit.Go / Group.Go tasks that began in
// it, even after the intermediate tasks (or the function given to
// [RunWithTimeout]) have returned, because tasks record their lineage when
// they start and end. The report says for each leak how it was attributed
// and the chain that was followed:
//
//	started through tracked tasks: task #6 "inner" (goroutine 12, started by task #5) ← goroutine 27 (the checker)
//
// One case cannot be attributed: a goroutine started by an untracked
// goroutine that has since exited (the runtime forgets who created the
// creator). VerifyNoLeaks reports such a goroutine, as untraceable, only
// when no other test is running; otherwise it leaves it to
// [VerifyTestMain], which checks every goroutine once all tests are done.
// Start goroutines with tracekit.Go to keep them attributable. A goroutine
// whose stack names another test is that test's, and a leak VerifyNoLeaks
// has reported is not reported again: one leak fails one test.
//
// # testing/synctest
//
// The helpers work inside a bubble (synctest.Test): [VerifyNoLeaks] covers
// only the bubble's goroutines (goroutines outside it, including other
// tests', are never blamed on it), first lets them settle with
// synctest.Wait, then gives them [DefaultLeakWait] of the bubble's fake
// time, which passes at once when everything left is durably blocked.
// [RunWithTimeout] times out on the fake clock, so a hang is reported as
// soon as the bubble is stuck, with a dump of the bubble's goroutines.
// [NewRecorder] records spans with fake-clock timestamps, so durations are
// exact.
//
// synctest.Test panics, ending the test binary, when goroutines of the
// bubble are still blocked after the test function returns: exactly what
// a leak or a hang leaves behind. [Synctest] runs a bubble with a leak
// check at its end and turns that panic into a test failure, so the
// report is kept and the other tests run; prefer it to synctest.Test when
// the code under test may leak.
//
// A goroutine blocked on a sync.Mutex or on I/O is not durably blocked:
// while one runs in the bubble, the fake clock stands still and
// synctest.Wait does not return, so the leak check and the timeout wait
// for it (the test binary's -timeout ends such a test).
package tracekittest
