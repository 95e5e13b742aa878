package svg

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/tracekit-go/tracekit/internal/flame"
)

// WriteFolded writes t as folded stacks, one line per frame that holds self
// value, "root;...;leaf count", in depth-first alphabetical order, which is
// the sorted order every flame graph tool reads. A diff tree is written in
// the two-count form "stack before after" that flamegraph.pl draws as a
// differential graph.
func WriteFolded(w io.Writer, t *flame.Tree) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	var path []string
	var buf []byte
	diff := t.IsDiff()
	t.Walk(flame.Alphabetical, func(n flame.NodeID, depth int) bool {
		if n == flame.Root {
			return true
		}
		path = append(path[:depth-1], t.Name(n))
		self := t.Self(n)
		var bself int64
		if diff {
			bself = t.BaseSelf(n)
		}
		if self == 0 && bself == 0 {
			return true
		}
		buf = buf[:0]
		for i, p := range path {
			if i > 0 {
				buf = append(buf, ';')
			}
			buf = append(buf, p...)
		}
		buf = append(buf, ' ')
		if diff {
			buf = strconv.AppendInt(buf, bself, 10)
			buf = append(buf, ' ')
		}
		buf = strconv.AppendInt(buf, self, 10)
		buf = append(buf, '\n')
		bw.Write(buf)
		return true
	})
	return bw.Flush()
}

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

// WriteTop writes the [Top] n functions as an aligned text table, or as a
// Markdown table when markdown is true.
func WriteTop(w io.Writer, t *flame.Tree, n int, markdown bool) error {
	rows := [][]string{{"self", "self%", "total", "total%", "function"}}
	for _, e := range Top(t, n) {
		rows = append(rows, []string{
			formatValue(e.Self, t.Unit), pct(e.Self, t.Total()),
			formatValue(e.Total, t.Unit), pct(e.Total, t.Total()), e.Name,
		})
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
