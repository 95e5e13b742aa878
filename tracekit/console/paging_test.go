package console

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracekit-go/tracekit/internal/goid"
	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
)

// listJSON is the list's JSON, with its paging.
type listJSON struct {
	Total         int               `json:"total"`
	Waiting       int               `json:"waiting"`
	Offset        int               `json:"offset"`
	Limit         int               `json:"limit"`
	Tasks         []consoleTask     `json:"tasks"`
	WaitedOn      []consoleResource `json:"waited_on"`
	WaitedOnTotal int               `json:"waited_on_total"`
}

func getList(t *testing.T, h http.Handler, target string) (listJSON, int) {
	t.Helper()
	rr := get(h, target)
	if rr.Code != http.StatusOK {
		t.Fatalf("%s: %d %s", target, rr.Code, rr.Body)
	}
	var l listJSON
	if err := json.Unmarshal(rr.Body.Bytes(), &l); err != nil {
		t.Fatal(err)
	}
	return l, rr.Body.Len()
}

// testPaged reads the list of 20,000 tasks (every tenth waiting on a lock)
// a page at a time: 1,000 by default, the waiting ones first, with the
// totals; the old list sent all of them, some 15 MB of JSON.
func testPaged(t *testing.T, h http.Handler, ts []*tracekit.Task) {
	l, size := getList(t, h, "/?format=json")
	if l.Total < len(ts) || len(l.Tasks) != defaultLimit || l.Offset != 0 || l.Limit != defaultLimit {
		t.Errorf("default page: total %d, %d tasks from %d (limit %d); want all %d counted, %d shown", l.Total, len(l.Tasks), l.Offset, l.Limit, len(ts), defaultLimit)
	}
	if size > 2<<20 {
		t.Errorf("default JSON page: %d bytes", size)
	}
	rr := get(h, "/")
	if rr.Code != http.StatusOK || rr.Body.Len() > 2<<20 || strings.Count(rr.Body.String(), "<tr data-task=") != defaultLimit ||
		!strings.Contains(rr.Body.String(), "Showing 1–1000 of ") || !strings.Contains(rr.Body.String(), `<a href="?offset=1000" id="next">`) {
		t.Errorf("default HTML page: %d, %d bytes, %d rows:\n%.2000s", rr.Code, rr.Body.Len(), strings.Count(rr.Body.String(), "<tr data-task="), rr.Body)
	}
	if goid.Fast && locksTracked {
		// The most interesting first: the 2,000 waiting on the lock, the
		// longest wait first.
		if l.Waiting < len(ts)/10 {
			t.Errorf("%d waiting, want at least %d", l.Waiting, len(ts)/10)
		}
		for i, ct := range l.Tasks {
			if ct.State != inspect.TaskWaiting || i > 0 && ct.Waiting > l.Tasks[i-1].Waiting {
				t.Fatalf("task %d of the first page: %s for %v after %v: not the longest waits first", i, ct.State, ct.Waiting, l.Tasks[max(i-1, 0)].Waiting)
			}
		}
		i := slices.IndexFunc(l.WaitedOn, func(r consoleResource) bool { return r.WaitingOn == `lock "pool"` })
		if i < 0 || l.WaitedOn[i].WaitersTotal != len(ts)/10 || len(l.WaitedOn[i].Waiters) != maxWaiters {
			t.Errorf("waited_on: %+v, want lock \"pool\" with its %d waiters, %d listed", l.WaitedOn, len(ts)/10, maxWaiters)
		}
	}

	// By ID, a page further on.
	l, _ = getList(t, h, "/?format=json&sort=id&limit=10&offset=100")
	if len(l.Tasks) != 10 || l.Offset != 100 || l.Limit != 10 {
		t.Fatalf("limit=10&offset=100: %d tasks from %d (limit %d)", len(l.Tasks), l.Offset, l.Limit)
	}
	for i := 1; i < len(l.Tasks); i++ {
		if l.Tasks[i].ID <= l.Tasks[i-1].ID {
			t.Errorf("sort=id: %d after %d", l.Tasks[i].ID, l.Tasks[i-1].ID)
		}
	}
	// The last page, and past it.
	l, _ = getList(t, h, "/?format=json&limit=7&offset=19995")
	if want := min(7, l.Total-19995); len(l.Tasks) != want {
		t.Errorf("the last page: %d tasks, want %d", len(l.Tasks), want)
	}
	if l, _ = getList(t, h, "/?format=json&offset=1000000"); len(l.Tasks) != 0 || l.Total < len(ts) {
		t.Errorf("past the end: %d tasks of %d", len(l.Tasks), l.Total)
	}
	for _, bad := range []string{"limit=0", "limit=10001", "limit=x", "offset=-1", "offset=x"} {
		if rr := get(h, "/?format=json&"+bad); rr.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", bad, rr.Code)
		}
	}
}

// The default order puts first the tasks a report names, then those
// warned about, the longest wait first, then the rest.
func TestConsoleInterestingFirst(t *testing.T) {
	if !goid.Fast || !locksTracked {
		t.Skip("waits are not listed here")
	}
	var reports kittest.Reports
	startKit(t, sdk.WithHangTimeout(50*time.Millisecond), sdk.WithoutLints(), sdk.WithReportHandler(reports.Add))
	h := Handler(WithoutRefresh())
	release := make(chan struct{})
	var orders, other tracekit.Mutex
	orders.SetName("orders")
	other.SetName("other")
	other.Lock() // held by the test, not a task
	running := tracekit.Go(context.Background(), "running", func(context.Context) error { <-release; return nil })
	holder := holdInTask(context.Background(), "holder", &orders, release)
	waiterOf := func(mu *tracekit.Mutex) *tracekit.Task {
		return tracekit.Go(context.Background(), "waiter", func(context.Context) error { mu.Lock(); mu.Unlock(); return nil })
	}
	first := waiterOf(&orders)
	waitFor(t, "the first waiter waiting", func(s []inspect.Task) bool {
		w, ok := taskByID(s, first.ID())
		return ok && w.State() == inspect.TaskWaiting
	})
	second := waiterOf(&other)
	defer func() {
		close(release)
		other.Unlock()
		for _, tk := range []*tracekit.Task{running, holder, first, second} {
			_ = tk.Wait()
		}
	}()
	if !testwait.For(time.Minute, func() bool { return len(reports.All()) >= 2 }) {
		t.Fatalf("reports: %+v", reports.All())
	}
	want := []uint64{holder.ID(), first.ID(), second.ID(), running.ID()}
	var got []uint64
	testwait.For(time.Minute, func() bool {
		l, _ := getList(t, h, "/?format=json")
		got = nil
		for _, ct := range l.Tasks {
			if slices.Contains(want, ct.ID) {
				got = append(got, ct.ID)
			}
		}
		return slices.Equal(got, want)
	})
	if !slices.Equal(got, want) {
		t.Errorf("default order %v, want the reported holder, the waiters past the hang timeout (longest first), the running task: %v", got, want)
	}
}
