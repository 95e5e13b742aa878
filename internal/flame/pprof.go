package flame

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/google/pprof/profile"
)

// ParsePprof decodes a pprof profile (protobuf, gzipped or not, or a legacy
// profile google/pprof reads) into a tree; see [ProfileTree].
func ParsePprof(data []byte, input string, opts ...Option) (*Tree, error) {
	p, err := parseProfile(data, input)
	if err != nil {
		return nil, err
	}
	return ProfileTree(p, input, opts...)
}

func parseProfile(data []byte, input string) (*profile.Profile, error) {
	p, err := profile.ParseData(data)
	if err != nil {
		return nil, &ParseError{Input: input, Expected: "a pprof profile (protobuf, optionally gzipped, or a legacy profile)", Err: fmt.Errorf("%w: %v", ErrCorrupt, err)}
	}
	return p, nil
}

// ReadProfile reads one pprof profile from r (gzipped or not, at most
// [WithMaxBytes] bytes) without turning it into a tree, for [MergeProfiles].
func ReadProfile(r io.Reader, input string, opts ...Option) (*profile.Profile, error) {
	c := newConfig(opts)
	br, err := Uncompress(r, input, c.maxBytes)
	if err != nil {
		return nil, err
	}
	data, err := readAll(br, input, c.maxBytes)
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, &ParseError{Input: input, Expected: "a pprof profile", Err: ErrEmpty}
	}
	return parseProfile(data, input)
}

// MergeProfiles merges profiles as `go tool pprof` merges the profiles given
// to it together: the sample types they share are kept, and samples with the
// same stack and labels are summed. inputs names the profiles in errors. It
// fails with [ErrOverflow] when a sum could pass the int64 range (one
// profile is checked too), and with [ErrFormat] when the profiles share no
// sample type or their period types differ.
func MergeProfiles(ps []*profile.Profile, inputs []string) (*profile.Profile, error) {
	names := strings.Join(inputs, ", ")
	if len(ps) > 1 {
		ps = slices.Clone(ps)
		for i, p := range ps {
			ps[i] = p.Copy()
		}
		if err := profile.CompatibilizeSampleTypes(ps); err != nil {
			return nil, &ParseError{Input: names, Expected: "profiles with a sample type in common", Err: fmt.Errorf("%w: %v", ErrFormat, err)}
		}
		if len(ps[0].SampleType) == 0 {
			return nil, &ParseError{Input: names, Expected: "profiles with a sample type in common", Err: ErrFormat}
		}
	}
	// Merge sums values as they come: when the magnitudes of every sample
	// type add up within int64, no partial sum can pass it.
	for st := range ps[0].SampleType {
		var sum uint64
		for _, p := range ps {
			for _, s := range p.Sample {
				if st >= len(s.Value) {
					continue
				}
				sum += uint64(absValue(s.Value[st]))
				if sum > math.MaxInt64 {
					return nil, &ParseError{Input: names, Expected: "sample values that add up to at most 9223372036854775807", Err: ErrOverflow}
				}
			}
		}
	}
	if len(ps) == 1 {
		return ps[0], nil
	}
	p, err := profile.Merge(ps)
	if err != nil {
		return nil, &ParseError{Input: names, Expected: "profiles of one kind (the same sample and period types)", Err: fmt.Errorf("%w: %v", ErrFormat, err)}
	}
	return p, nil
}

func absValue(v int64) uint64 {
	if v < 0 {
		return uint64(-(v + 1)) + 1
	}
	return uint64(v)
}

// ProfileTree turns a profile into a tree. Each sample's stack runs from its
// outermost caller to its leaf; a location with inlined calls contributes
// one frame per inlined function, the caller first, as pprof shows them.
// Options choose the sample type ([WithSampleType]), filter by label
// ([WithTag]) and name frames by line ([WithLines]). The tree's Unit is the
// sample type's unit.
//
// A delta profile (a /debug/pprof/heap?seconds=N download, a continuous
// profiler's delta, the output of pprof -diff_base) has negative values: it
// becomes a diff tree ([Tree.IsDiff]), as pprof draws it, where a frame's
// baseline is what its stacks lost and its value what they gained.
//
// Errors are [*ParseError]: [ErrEmpty] when no sample is left to draw (the
// profile has none, or none matches the tags), [ErrOverflow] when the values
// add up past the int64 range.
func ProfileTree(p *profile.Profile, input string, opts ...Option) (*Tree, error) {
	c := newConfig(opts)
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
	// Distinct names are at most one per location and one per line of one.
	if bound := len(p.Location) + countLines(p); bound >= MaxNames {
		return nil, &ParseError{Input: input, Expected: fmt.Sprintf("at most %d distinct frame names", MaxNames), Err: ErrTooLarge}
	}
	t := NewTree(p.SampleType[idx].Unit)
	t.SampleType = p.SampleType[idx].Type
	if t.Unit == "" {
		t.Unit = "count"
	}

	var (
		stack    []string
		pos, neg uint64 // sums of the kept samples' positive values and magnitudes of negative ones
		matched  int
	)
	for si, s := range p.Sample {
		if idx >= len(s.Value) {
			return nil, &ParseError{Input: input, Expected: fmt.Sprintf("%d values per sample", len(p.SampleType)), Err: fmt.Errorf("%w: sample %d has %d values", ErrCorrupt, si, len(s.Value))}
		}
		if !matchTags(s, c.tags) {
			continue
		}
		matched++
		v := s.Value[idx]
		if v == 0 {
			continue
		}
		if v > 0 {
			pos += uint64(v)
		} else {
			neg += absValue(v)
		}
		if pos > math.MaxInt64 || neg > math.MaxInt64 {
			return nil, &ParseError{Input: input, Expected: "sample values that add up to at most 9223372036854775807", Err: ErrOverflow}
		}
		stack = PprofStack(stack[:0], s, c.lines)
		if v > 0 {
			t.Add(stack, KindCPU, v)
			continue
		}
		if t.base == nil {
			t.base = make([]int64, t.count)
		}
		n := t.Add(stack, KindCPU, 0)
		for ; n != none; n = t.at(n).parent {
			t.base[n] -= v
		}
	}
	if pos == 0 && neg == 0 {
		return nil, &ParseError{Input: input, Expected: emptyWhy(p, idx, c.tags, matched), Err: ErrEmpty}
	}
	return t, nil
}

// emptyWhy says what a profile that yields no frames lacked.
func emptyWhy(p *profile.Profile, idx int, tags []tagFilter, matched int) string {
	st := p.SampleType[idx].Type
	switch {
	case len(p.Sample) == 0:
		return fmt.Sprintf("samples: the %s profile holds none", st)
	case len(tags) > 0 && matched == 0:
		var fs []string
		for _, f := range tags {
			fs = append(fs, f.key+"="+f.value)
		}
		return fmt.Sprintf("a sample labelled %s (labels in the profile: %s)", strings.Join(fs, " and "), labelKeys(p))
	}
	return fmt.Sprintf("a sample with a non-zero %s value", st)
}

// labelKeys lists the label keys of p's samples, or says there are none.
func labelKeys(p *profile.Profile) string {
	seen := map[string]bool{}
	var keys []string
	for _, s := range p.Sample {
		for k := range s.Label {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
		for k := range s.NumLabel {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	if len(keys) == 0 {
		return "none"
	}
	slices.Sort(keys)
	if len(keys) > 10 {
		keys = append(keys[:10], "...")
	}
	return strings.Join(keys, ", ")
}

func countLines(p *profile.Profile) int {
	n := 0
	for _, l := range p.Location {
		n += len(l.Line)
	}
	return n
}

// PprofStack appends the frame names of sample s to dst, outermost caller
// first, as [ProfileTree] names them: inlined calls are frames of their own,
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
	name := ""
	if l.Function != nil {
		name = l.Function.Name
		if name == "" {
			name = l.Function.SystemName
		}
	}
	if name == "" {
		name = "?"
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
