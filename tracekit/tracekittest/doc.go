// Package tracekittest holds test helpers for programs that use tracekit:
// leak checks in the style of goleak that read goroutine stacks (and the
// runtime's goroutineleak profile when the binary has it), a timeout
// wrapper that fails a hung test with a goroutine dump grouped by identical
// stacks, and an in-memory span recorder to assert on.
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
package tracekittest
