package gostack

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Group is a set of goroutines with the same stack and creator.
type Group struct {
	// Goroutines holds the members, by ID.
	Goroutines []Goroutine
	// States counts the members by state ("chan receive": 12).
	States map[string]int
	// LongestWait is the longest Waiting of a member.
	LongestWait time.Duration
}

// Stack returns the frames the members share.
func (gr *Group) Stack() []Frame { return gr.Goroutines[0].Frames }

// GroupByStack groups goroutines whose stacks are identical (function and
// line of every frame, and the go statement that created them), largest
// group first, then by lowest goroutine ID, so the output is stable.
func GroupByStack(gs []Goroutine) []Group {
	index := map[string]int{}
	var groups []Group
	for _, g := range gs {
		key := g.stackKey()
		i, ok := index[key]
		if !ok {
			i = len(groups)
			index[key] = i
			groups = append(groups, Group{States: map[string]int{}})
		}
		gr := &groups[i]
		gr.Goroutines = append(gr.Goroutines, g)
		gr.States[g.State]++
		gr.LongestWait = max(gr.LongestWait, g.Waiting)
	}
	for i := range groups {
		slices.SortFunc(groups[i].Goroutines, func(a, b Goroutine) int { return cmp.Compare(a.ID, b.ID) })
	}
	slices.SortStableFunc(groups, func(a, b Group) int {
		if c := cmp.Compare(len(b.Goroutines), len(a.Goroutines)); c != 0 {
			return c
		}
		return cmp.Compare(a.Goroutines[0].ID, b.Goroutines[0].ID)
	})
	return groups
}

// Write prints groups the way a person reads a hang: a header per group
// with how many goroutines, their states and IDs, then the shared stack.
func Write(w io.Writer, groups []Group) error {
	for _, gr := range groups {
		states := make([]string, 0, len(gr.States))
		for s, n := range gr.States {
			states = append(states, fmt.Sprintf("%s ×%d", s, n))
		}
		slices.Sort(states)
		ids := make([]string, 0, min(len(gr.Goroutines), 8))
		for i, g := range gr.Goroutines {
			if i == 8 {
				ids = append(ids, "…")
				break
			}
			ids = append(ids, fmt.Sprint(g.ID))
		}
		wait := ""
		if gr.LongestWait > 0 {
			wait = fmt.Sprintf(", waiting up to %v", gr.LongestWait)
		}
		if _, err := fmt.Fprintf(w, "%d goroutine(s) [%s%s]: %s\n", len(gr.Goroutines), strings.Join(states, ", "), wait, strings.Join(ids, " ")); err != nil {
			return err
		}
		if err := WriteStack(w, &gr.Goroutines[0]); err != nil {
			return err
		}
		if _, err := fmt.Fprintln(w); err != nil {
			return err
		}
	}
	return nil
}

// WriteStack prints g's frames and the go statement that created it, one
// indented function and location per call, then its ancestors' when the
// dump had them (GODEBUG=tracebackancestors).
func WriteStack(w io.Writer, g *Goroutine) error {
	for _, f := range g.Frames {
		if _, err := fmt.Fprintf(w, "    %s\n        %s:%d\n", f.Func, f.File, f.Line); err != nil {
			return err
		}
	}
	if g.Elided {
		if _, err := fmt.Fprintf(w, "    ...frames elided...\n"); err != nil {
			return err
		}
	}
	if g.CreatedBy.Func != "" {
		if _, err := fmt.Fprintf(w, "    created by %s\n        %s:%d\n", g.CreatedBy.Func, g.CreatedBy.File, g.CreatedBy.Line); err != nil {
			return err
		}
	}
	for _, a := range g.Ancestors {
		if _, err := fmt.Fprintf(w, "    [originating from goroutine %d]:\n", a.ID); err != nil {
			return err
		}
		for _, f := range a.Frames {
			if _, err := fmt.Fprintf(w, "    %s\n        %s:%d\n", f.Func, f.File, f.Line); err != nil {
				return err
			}
		}
		if a.CreatedBy.Func != "" {
			if _, err := fmt.Fprintf(w, "    created by %s\n        %s:%d\n", a.CreatedBy.Func, a.CreatedBy.File, a.CreatedBy.Line); err != nil {
				return err
			}
		}
	}
	return nil
}
