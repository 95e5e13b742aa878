package svg

import (
	"bufio"
	"fmt"
	"io"
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

// change is a delta as a share of its baseline, or "new" / "gone".
func change(e flame.DiffEntry) string {
	switch {
	case e.Before == 0:
		return "new"
	case e.After == 0:
		return "gone"
	}
	return fmt.Sprintf("%+.1f%%", 100*float64(e.Delta())/float64(e.Before))
}

func signed(v int64, unit string) string {
	if v < 0 {
		return "-" + formatValue(-v, unit)
	}
	return "+" + formatValue(v, unit)
}

// WriteTop writes the [flame.Top] n functions as an aligned text table, or as a
// Markdown table when markdown is true. For a diff tree it writes the
// [flame.TopDiff] table instead: self before, after, the change and its share of
// before, biggest change first.
func WriteTop(w io.Writer, t *flame.Tree, n int, markdown bool) error {
	rows := [][]string{{"self", "self%", "total", "total%", "function"}}
	if t.IsDiff() {
		rows = [][]string{{"before", "after", "delta", "change", "function"}}
		for _, e := range flame.TopDiff(t, n) {
			rows = append(rows, []string{
				formatValue(e.Before, t.Unit), formatValue(e.After, t.Unit),
				signed(e.Delta(), t.Unit), change(e), e.Name,
			})
		}
	} else {
		for _, e := range flame.Top(t, n) {
			rows = append(rows, []string{
				formatValue(e.Self, t.Unit), pct(e.Self, t.Total()),
				formatValue(e.Total, t.Unit), pct(e.Total, t.Total()), e.Name,
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
