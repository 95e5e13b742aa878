package jaeger

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

func TestKeyValueUnmarshal(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{`{"key":"k","type":"string","value":"v"}`, "v"},
		{`{"key":"k","type":"bool","value":true}`, true},
		{`{"key":"k","type":"int64","value":-42}`, int64(-42)},
		{`{"key":"k","type":"int64","value":4611686018427387905}`, int64(4611686018427387905)},
		{`{"key":"k","type":"int64","value":"4611686018427387905"}`, int64(4611686018427387905)},
		{`{"key":"k","type":"float64","value":2.5}`, 2.5},
		{`{"key":"k","type":"binary","value":"AAEC"}`, []byte{0, 1, 2}},
		{`{"key":"k","value":[1,"x"]}`, []any{1.0, "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var kv KeyValue
			if err := json.Unmarshal([]byte(tt.in), &kv); err != nil {
				t.Fatal(err)
			}
			if kv.Key != "k" || !reflect.DeepEqual(kv.Value, tt.want) {
				t.Errorf("got %s=%#v, want k=%#v", kv.Key, kv.Value, tt.want)
			}
		})
	}
	var kv KeyValue
	if err := json.Unmarshal([]byte(`{"key":"k","type":"int64","value":"x"}`), &kv); err == nil {
		t.Error("int64 tag with a string value decoded without error")
	}
}

func TestSpanHelpers(t *testing.T) {
	tr := Trace{
		Spans: []Span{
			{SpanID: "a", OperationName: "root", ProcessID: "p1"},
			{SpanID: "b", OperationName: "leaf", ProcessID: "p2", References: []Reference{
				{RefType: FollowsFrom, SpanID: "x"},
				{RefType: ChildOf, SpanID: "a"},
			}, Tags: []KeyValue{{Key: "n", Type: Int64Type, Value: int64(7)}}},
		},
		Processes: map[string]Process{"p1": {ServiceName: "front"}, "p2": {ServiceName: "back"}},
	}
	leaf, ok := tr.SpanByName("leaf")
	if !ok || leaf.ParentID() != "a" || tr.ServiceOf(leaf) != "back" {
		t.Errorf("leaf: found %v, parent %q, service %q", ok, leaf.ParentID(), tr.ServiceOf(leaf))
	}
	if v, ok := leaf.Tag("n"); !ok || v != int64(7) {
		t.Errorf("leaf.Tag(n) = %v, %v", v, ok)
	}
	root, _ := tr.SpanByID("a")
	if root.ParentID() != "" || tr.ServiceOf(root) != "front" {
		t.Errorf("root: parent %q, service %q", root.ParentID(), tr.ServiceOf(root))
	}
	if _, ok := tr.SpanByName("missing"); ok {
		t.Error("SpanByName found a missing span")
	}
}

func TestTailBuffer(t *testing.T) {
	b := newTailBuffer(10)
	b.Write([]byte("line1\nline2\n"))
	b.Write([]byte("line3\n"))
	if got := b.String(); got != "line3\n" {
		t.Errorf("tail = %q, want %q", got, "line3\n")
	}
	small := newTailBuffer(100)
	small.Write(bytes.Repeat([]byte("x"), 5))
	if got := small.String(); got != "xxxxx" {
		t.Errorf("tail = %q", got)
	}
}
