package svg

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/tracekit-go/tracekit/internal/flame"
)

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

func signed(t *flame.Tree, v int64) string {
	if v < 0 {
		return "-" + treeValue(t, -v)
	}
	return "+" + treeValue(t, v)
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
				treeValue(t, e.Before), treeValue(t, e.After),
				signed(t, e.Delta()), change(e), e.Name,
			})
		}
	} else {
		for _, e := range flame.Top(t, n) {
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
