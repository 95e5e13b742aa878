package flame

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/google/pprof/profile"
)

// ParsePprof decodes a pprof profile (protobuf, gzipped or not, or a legacy
// text profile) into a tree. Each sample's stack runs from its outermost
// caller to its leaf; a location with inlined calls contributes one frame per
// inlined function, the caller first, as pprof shows them. Options choose the
// sample type ([WithSampleType]), filter by label ([WithTag]) and name frames
// by line ([WithLines]). The tree's Unit is the sample type's unit.
//
// Samples with a zero value are skipped; a negative value (a profile already
// diffed by pprof) is an error, since [Diff] does that job.
func ParsePprof(data []byte, input string, opts ...Option) (*Tree, error) {
	c := newConfig(opts)
	p, err := profile.ParseData(data)
	if err != nil {
		return nil, &ParseError{Input: input, Expected: "folded stack text or a pprof profile (protobuf, optionally gzipped)", Err: fmt.Errorf("%w: %v", ErrCorrupt, err)}
	}
	if len(p.SampleType) == 0 {
		return nil, &ParseError{Input: input, Expected: "a profile with at least one sample type", Err: ErrEmpty}
	}
	idx := len(p.SampleType) - 1
	want := c.sampleType
	if want == "" {
		want = p.DefaultSampleType
	}
	if want != "" {
		idx = -1
		var names []string
		for i, st := range p.SampleType {
			names = append(names, st.Type)
			if st.Type == want && idx < 0 {
				idx = i
			}
		}
		if idx < 0 {
			if c.sampleType == "" {
				idx = len(p.SampleType) - 1
			} else {
				return nil, &ParseError{Input: input, Expected: "a sample type among " + strings.Join(names, ", "), Err: fmt.Errorf("%w: no sample type %q", ErrFormat, want)}
			}
		}
	}
	t := NewTree(p.SampleType[idx].Unit)
	t.SampleType = p.SampleType[idx].Type
	if t.Unit == "" {
		t.Unit = "count"
	}

	var stack []string
	for si, s := range p.Sample {
		if idx >= len(s.Value) {
			return nil, &ParseError{Input: input, Expected: fmt.Sprintf("%d values per sample", len(p.SampleType)), Err: fmt.Errorf("%w: sample %d has %d values", ErrCorrupt, si, len(s.Value))}
		}
		v := s.Value[idx]
		if v == 0 || !matchTags(s, c.tags) {
			continue
		}
		if v < 0 {
			return nil, &ParseError{Input: input, Expected: "non-negative sample values (use flamegen diff to compare profiles)", Err: fmt.Errorf("%w: sample %d has value %d", ErrCorrupt, si, v)}
		}
		stack = PprofStack(stack[:0], s, c.lines)
		t.Add(stack, KindCPU, v)
	}
	return t, nil
}

// PprofStack appends the frame names of sample s to dst, outermost caller
// first, as [ParsePprof] names them: inlined calls are frames of their own,
// a location without symbols is named by its mapping and offset, and with
// lines each name ends in ":line".
func PprofStack(dst []string, s *profile.Sample, lines bool) []string {
	for i := len(s.Location) - 1; i >= 0; i-- {
		loc := s.Location[i]
		if loc == nil {
			continue
		}
		if len(loc.Line) == 0 {
			dst = append(dst, unsymbolized(loc))
			continue
		}
		for j := len(loc.Line) - 1; j >= 0; j-- {
			dst = append(dst, frameName(loc.Line[j], lines))
		}
	}
	return dst
}

func frameName(l profile.Line, lines bool) string {
	name := "?"
	if l.Function != nil {
		name = l.Function.Name
		if name == "" {
			name = l.Function.SystemName
		}
	}
	if lines {
		return name + ":" + strconv.FormatInt(l.Line, 10)
	}
	return name
}

func unsymbolized(loc *profile.Location) string {
	if loc.Mapping != nil && loc.Mapping.File != "" {
		f := loc.Mapping.File
		if i := strings.LastIndexByte(f, '/'); i >= 0 {
			f = f[i+1:]
		}
		return fmt.Sprintf("%s+0x%x", f, loc.Address-loc.Mapping.Start+loc.Mapping.Offset)
	}
	return fmt.Sprintf("0x%x", loc.Address)
}

func matchTags(s *profile.Sample, tags []tagFilter) bool {
	for _, f := range tags {
		ok := false
		for _, v := range s.Label[f.key] {
			if v == f.value {
				ok = true
				break
			}
		}
		if !ok {
			if n, err := strconv.ParseInt(f.value, 10, 64); err == nil {
				for _, v := range s.NumLabel[f.key] {
					if v == n {
						ok = true
						break
					}
				}
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
