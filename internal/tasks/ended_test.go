package tasks

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// An ended task's record keeps a long error as bounded text.
func TestEndedResultBounded(t *testing.T) {
	long := strings.Repeat("é", maxResultText) // two bytes each: cut mid-rune
	r := &Record{ID: 1<<60 + 1, Name: "verbose", Start: time.Now()}
	r.End("error", long)
	e, ok := FindEnded(r.ID)
	if !ok {
		t.Fatal("the ended task is not kept")
	}
	if e.Result != "error" || len(e.Text) > maxResultText+len("…") || !strings.HasSuffix(e.Text, "…") || !utf8.ValidString(e.Text) {
		t.Errorf("record: result %q, %d bytes of text, valid UTF-8 %v", e.Result, len(e.Text), utf8.ValidString(e.Text))
	}
	if e.Name != "verbose" || !e.Start().Equal(r.Start.Truncate(0)) && e.Start().UnixNano() != r.Start.UnixNano() {
		t.Errorf("record %+v", e)
	}
}

// Recording an ended task costs no allocation unless it failed.
func TestEndedRecordAllocs(t *testing.T) {
	r := &Record{ID: 1 << 60, Name: "ok", Start: time.Now()}
	if n := testing.AllocsPerRun(100, func() { r.End("ok", "") }); n != 0 {
		t.Errorf("recording a task that succeeded: %v allocs, want 0", n)
	}
}

// The ring keeps the last EndedKept tasks and forgets older ones.
func TestEndedRingBounded(t *testing.T) {
	base := uint64(1 << 50)
	for i := range uint64(EndedKept + EndedShards) {
		(&Record{ID: base + i, Origin: 7, Start: time.Now()}).End("ok", "")
	}
	if _, ok := FindEnded(base); ok {
		t.Error("the oldest task is still kept after the ring went round")
	}
	if _, ok := FindEnded(base + EndedKept + EndedShards - 1); !ok {
		t.Error("the newest task is not kept")
	}
}
