package svg

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/tracekit-go/tracekit/internal/flame"
)

// TopEntry is one function of a [Top] table.
type TopEntry struct {
	Name  string
	Self  int64 // value of the stacks that end in this function
	Total int64 // value of the stacks that pass through it, each counted once even when recursive
}

// Top returns the n functions with the most self value (ties: more total,
// then name), aggregated over every frame with the same name. n <= 0 means
// all.
func Top(t *flame.Tree, n int) []TopEntry {
	self := make([]int64, t.NumNames())
	total := make([]int64, t.NumNames())
	onPath := make([]int32, t.NumNames())
	var path []int
	t.Walk(flame.Alphabetical, func(id flame.NodeID, depth int) bool {
		for len(path) > depth {
			onPath[path[len(path)-1]]--
			path = path[:len(path)-1]
		}
		if id == flame.Root {
			path = append(path, 0)
			onPath[0]++
			return true
		}
		ni := t.NameIndex(id)
		self[ni] += t.Self(id)
		if onPath[ni] == 0 {
			total[ni] += t.Value(id)
		}
		onPath[ni]++
		path = append(path, ni)
		return true
	})
	var out []TopEntry
	for i := 1; i < t.NumNames(); i++ {
		if total[i] > 0 {
			out = append(out, TopEntry{Name: t.NameAt(i), Self: self[i], Total: total[i]})
		}
	}
	slices.SortFunc(out, func(a, b TopEntry) int {
		if c := cmp.Compare(b.Self, a.Self); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Total, a.Total); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// DiffEntry is one function of a [TopDiff] table: its self value before
// (the baseline, normalised as the diff was) and after.
type DiffEntry struct {
	Name          string
	Before, After int64
}

// Delta is After - Before.
func (e DiffEntry) Delta() int64 { return e.After - e.Before }

// TopDiff returns, for a diff tree ([flame.Diff]), the n functions whose
// self value changed most (largest absolute change first; ties by name),
// aggregated over every frame with the same name; unchanged functions are
// left out. n <= 0 means all.
func TopDiff(t *flame.Tree, n int) []DiffEntry {
	before := make([]int64, t.NumNames())
	after := make([]int64, t.NumNames())
	t.Walk(flame.Alphabetical, func(id flame.NodeID, depth int) bool {
		if id != flame.Root {
			ni := t.NameIndex(id)
			before[ni] += t.BaseSelf(id)
			after[ni] += t.Self(id)
		}
		return true
	})
	var out []DiffEntry
	for i := 1; i < t.NumNames(); i++ {
		if before[i] != after[i] {
			out = append(out, DiffEntry{Name: t.NameAt(i), Before: before[i], After: after[i]})
		}
	}
	abs := func(v int64) int64 {
		if v < 0 {
			return -v
		}
		return v
	}
	slices.SortFunc(out, func(a, b DiffEntry) int {
		if c := cmp.Compare(abs(b.Delta()), abs(a.Delta())); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// change is a delta as a share of its baseline, or "new" / "gone".
func change(e DiffEntry) string {
	switch {
	case e.Before == 0:
		return "new"
	case e.After == 0:
		return "gone"
	}
	return fmt.Sprintf("%+.1f%%", 100*float64(e.Delta())/float64(e.Before))
}

func signed(t *flame.Tree, v int64) string {
	if v < 0 {
		return "-" + treeValue(t, -v)
	}
	return "+" + treeValue(t, v)
}

// WriteTop writes the [Top] n functions as an aligned text table, or as a
// Markdown table when markdown is true. For a diff tree it writes the
// [TopDiff] table instead: self before, after, the change and its share of
// before, biggest change first.
func WriteTop(w io.Writer, t *flame.Tree, n int, markdown bool) error {
	rows := [][]string{{"self", "self%", "total", "total%", "function"}}
	if t.IsDiff() {
		rows = [][]string{{"before", "after", "delta", "change", "function"}}
		for _, e := range TopDiff(t, n) {
			rows = append(rows, []string{
				treeValue(t, e.Before), treeValue(t, e.After),
				signed(t, e.Delta()), change(e), e.Name,
			})
		}
	} else {
		for _, e := range Top(t, n) {
			rows = append(rows, []string{
				treeValue(t, e.Self), pct(e.Self, t.Total()),
				treeValue(t, e.Total), pct(e.Total, t.Total()), e.Name,
			})
		}
	}
	bw := bufio.NewWriter(w)
	if markdown {
		for i, r := range rows {
			name := strings.NewReplacer("|", `\|`, "`", "'").Replace(r[4])
			if i > 0 {
				name = "`" + name + "`"
			}
			fmt.Fprintf(bw, "| %s | %s | %s | %s | %s |\n", r[0], r[1], r[2], r[3], name)
			if i == 0 {
				bw.WriteString("|---:|---:|---:|---:|---|\n")
			}
		}
		return bw.Flush()
	}
	widths := make([]int, 4)
	for _, r := range rows {
		for i := range widths {
			widths[i] = max(widths[i], len(r[i]))
		}
	}
	for _, r := range rows {
		for i := range widths {
			fmt.Fprintf(bw, "%*s  ", widths[i], r[i])
		}
		bw.WriteString(r[4])
		bw.WriteByte('\n')
	}
	return bw.Flush()
}
