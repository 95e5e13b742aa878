package spans

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tracekit-go/tracekit/internal/flame"
	"github.com/tracekit-go/tracekit/internal/spans/internal/gen"
)

// seedTestdata seeds small inputs: the fuzzer spends its time minimizing
// large ones, and the large generated files are read by the unit tests.
func seedTestdata(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.*")
	corpus, _ := filepath.Glob("testdata/corpus/*.*")
	files = append(append(files, corpus...), "../../exporters/file/testdata/fixture.golden.json")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && len(b) <= 8<<10 {
			f.Add(b)
		}
	}
	traces := gen.Traces(3, 2, 3)
	var lines, jaeger, framed, raw bytes.Buffer
	for _, err := range []error{
		gen.WriteOTLP(&lines, traces, 4),
		gen.WriteJaeger(&jaeger, traces),
		gen.WriteProto(&framed, traces, 4, true),
		gen.WriteProto(&raw, traces, 0, false),
	} {
		if err != nil {
			f.Fatal(err)
		}
	}
	var pretty bytes.Buffer
	first, _, _ := bytes.Cut(lines.Bytes(), []byte("\n"))
	if err := json.Indent(&pretty, first, "", " "); err != nil {
		f.Fatal(err)
	}
	for _, b := range [][]byte{lines.Bytes(), jaeger.Bytes(), framed.Bytes(), raw.Bytes(), pretty.Bytes()} {
		f.Add(b)
	}
	f.Add([]byte(jaegerDoc))
	// Other framings and shapes: varint-delimited protobuf, a byte-order
	// mark, a JSON array of requests, the older field name.
	varint := binary.AppendUvarint(nil, uint64(raw.Len()))
	f.Add(append(varint, raw.Bytes()...))
	first, _, _ = bytes.Cut(lines.Bytes(), []byte("\n"))
	f.Add(append([]byte("\xef\xbb\xbf"), first...))
	f.Add(append(append([]byte("["), first...), ']'))
	f.Add(bytes.ReplaceAll(first, []byte("scopeSpans"), []byte("instrumentationLibrarySpans")))
	f.Add([]byte(`{"result":{"resource_spans":[{"scope_spans":[{"spans":[{"trace_id":"0102030405060708090a0b0c0d0e0f10","span_id":"0102030405060708","start_time_unix_nano":5,"status":{"code":"STATUS_CODE_ERROR"}}]}],"resource":{"attributes":[{"key":"service.name","value":{"string_value":"s\u00e9"}}]}}]}}`))
}

// FuzzDecode checks the scanner against encoding/json as the oracle: what
// the decoder accepts must be valid JSON holding exactly the spans that a
// plain reading of the same JSON finds, and what encoding/json rejects the
// decoder must reject with a one-line *flame.ParseError.
func FuzzDecode(f *testing.F) {
	seedTestdata(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		var got []string
		err := Decode(bytes.NewReader(in), "fuzz", func(s *Span) error {
			got = append(got, spanKey(s))
			return nil
		}, WithMaxValueBytes(1<<20))
		in = bytes.TrimPrefix(in, []byte("\xef\xbb\xbf")) // the decoder skips a byte-order mark
		isJSON := looksJSON(in)
		valid := !isJSON || validJSONStream(in)
		if err != nil {
			var pe *flame.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error is not a *flame.ParseError: %v", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
			return
		}
		if !valid {
			t.Fatalf("accepted invalid JSON %q", in)
		}
		if !isJSON || hasDuplicateKeys(in) {
			return // the oracle reads maps, which cannot tell which came last
		}
		want, ok := oracle(in)
		if !ok {
			t.Fatalf("decoder accepted what the oracle rejects: %q\nspans %q", in, got)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("input %q\ngot  %q\nwant %q", in, got, want)
		}
		// With attributes the same spans come out.
		n := 0
		if err := Decode(bytes.NewReader(in), "fuzz", func(*Span) error { n++; return nil }, WithAttributes()); err == nil && n != len(got) {
			t.Fatalf("with attributes: %d spans, want %d", n, len(got))
		}
	})
}

func spanKey(s *Span) string {
	return fmt.Sprintf("%s/%s/%s %q %q %d %d %d %q %q", s.TraceID, s.ID, s.Parent, s.Name, s.Service, s.Start, s.End, s.Status, s.Message, s.Kind)
}

func validJSONStream(in []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(in))
	for {
		var v json.RawMessage
		if err := dec.Decode(&v); err == io.EOF {
			return true
		} else if err != nil {
			return false
		}
	}
}

// hasDuplicateKeys reports whether any object repeats a key, treating the
// camelCase and snake_case spellings of a field as the same key.
func hasDuplicateKeys(in []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(in))
	var stack []map[string]bool
	var isObj []bool
	expectKey := func() bool { return len(isObj) > 0 && isObj[len(isObj)-1] }
	wantKey := true
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, map[string]bool{})
				isObj = append(isObj, true)
				wantKey = true
				continue
			case '[':
				stack = append(stack, nil)
				isObj = append(isObj, false)
			case '}', ']':
				stack, isObj = stack[:len(stack)-1], isObj[:len(isObj)-1]
			}
			wantKey = expectKey()
			continue
		case string:
			if expectKey() && wantKey {
				k := strings.ToLower(strings.ReplaceAll(v, "_", ""))
				m := stack[len(stack)-1]
				if m[k] {
					return true
				}
				m[k] = true
				wantKey = false
				continue
			}
		}
		wantKey = expectKey()
	}
}

// oracle reads the same spans with encoding/json and straightforward code.
func oracle(in []byte) ([]string, bool) {
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.UseNumber()
	var out []string
	for {
		var v any
		if err := dec.Decode(&v); err == io.EOF {
			return out, true
		} else if err != nil {
			return nil, false
		}
		if !oTop(v, &out) {
			return nil, false
		}
	}
}

type oErr struct{}

func field(m map[string]any, names ...string) (any, bool) {
	for _, n := range names {
		if v, ok := m[n]; ok {
			return v, true
		}
	}
	return nil, false
}

func oObj(v any) map[string]any {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		panic(oErr{})
	}
	return m
}

func oArr(v any) []any {
	if v == nil {
		return nil
	}
	a, ok := v.([]any)
	if !ok {
		panic(oErr{})
	}
	return a
}

func oStr(v any) string {
	if v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		panic(oErr{})
	}
	return s
}

func oInt(v any) int64 {
	var s string
	switch x := v.(type) {
	case nil:
		return 0
	case string:
		s = x
	case json.Number:
		s = string(x)
	default:
		panic(oErr{})
	}
	if strings.HasPrefix(s, "+") {
		panic(oErr{})
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		panic(oErr{})
	}
	return n
}

func oHex(dst []byte, v any, exact bool) {
	s := oStr(v)
	if exact && s != "" && len(s) != 2*len(dst) {
		panic(oErr{})
	}
	if len(s) > 2*len(dst) {
		panic(oErr{})
	}
	if len(s)%2 == 1 {
		s = "0" + s
	}
	var b []byte
	for i := 0; i < len(s); i += 2 {
		x, err := strconv.ParseUint(s[i:i+2], 16, 8)
		if err != nil {
			panic(oErr{})
		}
		b = append(b, byte(x))
	}
	clear(dst)
	copy(dst[len(dst)-len(b):], b)
}

func oTop(v any, out *[]string) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, is := r.(oErr); !is {
				panic(r)
			}
			ok = false
		}
	}()
	oRequest(v, out)
	return true
}

func oRequest(v any, out *[]string) {
	if a, ok := v.([]any); ok {
		for _, e := range a {
			oRequest(e, out)
		}
		return
	}
	m := oObj(v)
	if _, ok := m["spans"]; ok {
		oJaegerTrace(m, out)
		return
	}
	if rs, ok := field(m, "resourceSpans", "resource_spans"); ok {
		for _, r := range oArr(rs) {
			oResourceSpans(r, out)
		}
	}
	if d, ok := m["data"]; ok {
		if tr, ok := d.(map[string]any); ok {
			oJaegerTrace(tr, out)
		} else {
			for _, tr := range oArr(d) {
				oJaegerTrace(tr, out)
			}
		}
	}
	if r, ok := m["result"]; ok {
		oRequest(r, out)
	}
}

// oAnyString returns an AnyValue's string, if it has one.
func oAnyString(v any) (string, bool) {
	m := oObj(v)
	if s, ok := field(m, "stringValue", "string_value"); ok && s != nil {
		return oStr(s), true
	}
	return "", false
}

func oResourceSpans(v any, out *[]string) {
	m := oObj(v)
	service := ""
	if res, ok := m["resource"]; ok {
		for _, kv := range oArr(oObj(res)["attributes"]) {
			kvm := oObj(kv)
			k := oStr(kvm["key"])
			val, has := "", false
			if vv, ok := kvm["value"]; ok {
				val, has = oAnyString(vv)
			}
			if k == "service.name" && has {
				service = val
			}
		}
	}
	for _, name := range [][2]string{{"scopeSpans", "scope_spans"}, {"instrumentationLibrarySpans", "instrumentation_library_spans"}} {
		for _, k := range name {
			for _, sc := range oArr(m[k]) {
				for _, s := range oArr(oObj(sc)["spans"]) {
					oSpan(s, service, out)
				}
			}
		}
	}
}

func oSpan(v any, service string, out *[]string) {
	m := oObj(v)
	if m == nil {
		return
	}
	sp := Span{Service: service}
	if x, ok := field(m, "traceId", "trace_id"); ok {
		oHex(sp.TraceID[:], x, true)
	}
	if x, ok := field(m, "spanId", "span_id"); ok {
		oHex(sp.ID[:], x, true)
	}
	if x, ok := field(m, "parentSpanId", "parent_span_id"); ok {
		oHex(sp.Parent[:], x, true)
	}
	sp.Name = oStr(m["name"])
	if x, ok := field(m, "startTimeUnixNano", "start_time_unix_nano"); ok {
		sp.Start = oInt(x)
	}
	if x, ok := field(m, "endTimeUnixNano", "end_time_unix_nano"); ok {
		sp.End = oInt(x)
	}
	if sp.Start < 0 || sp.End < 0 {
		panic(oErr{})
	}
	for _, kv := range oArr(m["attributes"]) {
		kvm := oObj(kv)
		if kvm == nil {
			continue
		}
		k := oStr(kvm["key"])
		val, isStr := "", false
		if vv, ok := kvm["value"]; ok {
			val, isStr = oAnyString(vv)
		}
		if k == "tracekit.kind" {
			sp.Kind = ""
			if isStr {
				sp.Kind = val
			}
		}
	}
	if st, ok := m["status"]; ok {
		sm := oObj(st)
		if c, ok := sm["code"]; ok {
			switch x := c.(type) {
			case string:
				switch x {
				case "STATUS_CODE_UNSET":
				case "STATUS_CODE_OK":
					sp.Status = StatusOK
				case "STATUS_CODE_ERROR":
					sp.Status = StatusError
				default:
					panic(oErr{})
				}
			default:
				n := oInt(c)
				if n < 0 || n > 2 {
					panic(oErr{})
				}
				sp.Status = Status(n)
			}
		}
		sp.Message = oStr(sm["message"])
	}
	*out = append(*out, spanKey(&sp))
}

func oJaegerTrace(v any, out *[]string) {
	m := oObj(v)
	procs := map[string]string{}
	for pid, p := range oObj(m["processes"]) {
		procs[pid] = oStr(oObj(p)["serviceName"])
	}
	for _, s := range oArr(m["spans"]) {
		sm := oObj(s)
		if sm == nil {
			continue
		}
		var sp Span
		oHex(sp.TraceID[:], sm["traceID"], false)
		oHex(sp.ID[:], sm["spanID"], false)
		var parent SpanID
		oHex(parent[:], sm["parentSpanID"], false)
		sp.Name = oStr(sm["operationName"])
		start, dur := oInt(sm["startTime"]), oInt(sm["duration"])
		if p, ok := sm["process"]; ok {
			sp.Service = oStr(oObj(p)["serviceName"])
		}
		if sp.Service == "" {
			sp.Service = procs[oStr(sm["processID"])]
		}
		// The parent: the first CHILD_OF into the span's trace, else the
		// first FOLLOWS_FROM into it, else the first CHILD_OF, else the
		// first FOLLOWS_FROM, else parentSpanID.
		type ref struct {
			span  SpanID
			trace TraceID
			kind  string
		}
		var refs []ref
		for _, r := range oArr(sm["references"]) {
			rm := oObj(r)
			if rm == nil {
				continue
			}
			var x ref
			oHex(x.span[:], rm["spanID"], false)
			oHex(x.trace[:], rm["traceID"], false)
			x.kind = oStr(rm["refType"])
			if x.kind == "CHILD_OF" || x.kind == "FOLLOWS_FROM" {
				refs = append(refs, x)
			}
		}
		sp.Parent = parent
	pick:
		for _, want := range []struct {
			kind string
			own  bool
		}{{"CHILD_OF", true}, {"FOLLOWS_FROM", true}, {"CHILD_OF", false}, {"FOLLOWS_FROM", false}} {
			for _, r := range refs {
				if r.kind == want.kind && (!want.own || r.trace == (TraceID{}) || r.trace == sp.TraceID) {
					sp.Parent = r.span
					break pick
				}
			}
		}
		errTag, code := false, ""
		for _, tg := range oArr(sm["tags"]) {
			tm := oObj(tg)
			if tm == nil {
				continue
			}
			key := oStr(tm["key"])
			val, isStr, isTrue := "", false, false
			switch x := tm["value"].(type) {
			case string:
				val, isStr = x, true
			case bool:
				val, isTrue = strconv.FormatBool(x), x
			case nil:
			case json.Number:
				val = string(x)
			default:
				val = "(composite)"
			}
			switch key {
			case "tracekit.kind":
				sp.Kind = ""
				if isStr {
					sp.Kind = val
				}
			case "error":
				errTag = isTrue || (isStr && val == "true")
			case "otel.status_code":
				code = val
			case "otel.status_description":
				sp.Message = ""
				if isStr {
					sp.Message = val
				}
			}
		}
		switch {
		case code == "ERROR" || errTag:
			sp.Status = StatusError
		case code == "OK":
			sp.Status = StatusOK
		}
		const maxUS = 1<<63/1000 - 1
		if start > maxUS || start < 0 || dur > maxUS || dur < -maxUS || start+dur > maxUS || start+dur < 0 {
			panic(oErr{})
		}
		sp.Start, sp.End = start*1000, (start+dur)*1000
		*out = append(*out, spanKey(&sp))
	}
}

// FuzzAnalyses checks that assembly and every analysis survive any span set
// (ids, parents and times chosen by the fuzzer) and keep their invariants.
func FuzzAnalyses(f *testing.F) {
	f.Add([]byte{1, 0, 0, 100, 2, 1, 10, 50, 3, 1, 30, 70})
	f.Add([]byte{1, 2, 0, 100, 2, 1, 0, 100, 2, 1, 5, 6, 4, 9, 200, 10})
	f.Fuzz(func(t *testing.T, in []byte) {
		var spans []Span
		for i := 0; i+4 <= len(in) && len(spans) < 64; i += 4 {
			spans = append(spans, sp(in[i]%16, in[i+1]%17, "s"+strconv.Itoa(int(in[i]%5)), int64(in[i+2]), int64(in[i+3])))
		}
		tr := Assemble(spans)
		checkWall(t, tr)
		agg := NewAggregator()
		agg.Add(tr)
		if agg.Tree().Total() != tr.Wall() {
			t.Fatalf("root %d, wall %d", agg.Tree().Total(), tr.Wall())
		}
		agg.Tree().Walk(flame.Alphabetical, func(n flame.NodeID, _ int) bool {
			if agg.Tree().Self(n) < 0 {
				t.Fatalf("negative self at %v", agg.Tree().Stack(n))
			}
			return true
		})
		sum := NewAggregator(WithWeight(WeightSum))
		sum.Add(tr)
		var durs int64
		for _, r := range tr.Roots() {
			durs += tr.Spans[r].Duration()
		}
		if sum.Tree().Total() < durs {
			t.Fatalf("sum weight %d, below the top-level spans' total %d", sum.Tree().Total(), durs)
		}
		sum.Tree().Walk(flame.Alphabetical, func(n flame.NodeID, _ int) bool {
			if sum.Tree().Self(n) < 0 {
				t.Fatalf("sum: negative self at %v", sum.Tree().Stack(n))
			}
			return true
		})
		var total int64
		for _, s := range CriticalPath(tr) {
			if s.End <= s.Start {
				t.Fatalf("empty segment %+v", s)
			}
			total += s.End - s.Start
		}
		if total != tr.Wall() {
			t.Fatalf("critical path %d, wall %d", total, tr.Wall())
		}
		checkLayout(t, Layout(tr))
	})
}
