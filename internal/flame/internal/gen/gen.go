// Package gen makes synthetic profiles for flamegen's tests and benchmarks:
// folded stacks shaped like a Go service's, deterministic for a seed.
package gen

import (
	"bufio"
	"fmt"
	"hash/maphash"
	"io"
	"math/rand/v2"
	"strconv"
)

// Program is a synthetic Go program: functions in packages, each calling a
// few others, so that random walks from main give realistic stacks that
// share prefixes near the root and fan out below.
type Program struct {
	Funcs   []string
	callees [][]int
	rng     *rand.Rand
}

var pkgs = []string{
	"runtime", "net/http", "net", "bufio", "encoding/json", "sync", "context",
	"database/sql", "crypto/tls", "compress/gzip", "strings", "sort", "fmt",
	"github.com/acme/shop/internal/cart", "github.com/acme/shop/internal/checkout",
	"github.com/acme/shop/internal/pricing", "github.com/acme/shop/internal/inventory",
	"github.com/acme/shop/internal/payments/gateway", "github.com/acme/shop/internal/store/postgres",
	"github.com/acme/shop/pkg/telemetry", "google.golang.org/grpc/internal/transport",
	"go.opentelemetry.io/otel/sdk/trace", "github.com/jackc/pgx/v5/pgconn",
}

var types = []string{"", "", "(*Server)", "(*Client)", "(*conn)", "(*Service)", "(*Repo)", "Handler", "(*decodeState)", "(*Tx)"}

var verbs = []string{"serve", "handle", "Do", "Read", "Write", "decode", "encode", "Lock", "Unlock", "apply", "compute",
	"query", "scan", "flush", "marshal", "validate", "lookup", "update", "fetch", "process", "dispatch", "wait", "Exec", "Next"}

var nouns = []string{"", "Request", "Response", "Items", "Discount", "Cart", "Order", "Rows", "Batch", "Span", "Header", "Body", "Frame", "Value"}

// NewProgram returns a program of n functions for seed.
func NewProgram(n int, seed uint64) *Program {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	p := &Program{rng: rng}
	seen := map[string]bool{}
	for len(p.Funcs) < n {
		name := pkgs[rng.IntN(len(pkgs))] + "."
		if t := types[rng.IntN(len(types))]; t != "" {
			name += t + "."
		}
		name += verbs[rng.IntN(len(verbs))] + nouns[rng.IntN(len(nouns))]
		if rng.IntN(6) == 0 {
			name += ".func" + strconv.Itoa(1+rng.IntN(4))
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		p.Funcs = append(p.Funcs, name)
	}
	p.callees = make([][]int, n)
	for i := range p.callees {
		k := 2 + rng.IntN(5)
		for range k {
			p.callees[i] = append(p.callees[i], rng.IntN(n))
		}
	}
	return p
}

// WriteFolded writes stacks distinct folded stacks, each 10 to 60 frames deep
// with a count from 1 to 1000, in random order (the hard case for a parser
// that relies on sorted input). It returns the number of bytes written.
func (p *Program) WriteFolded(w io.Writer, stacks int) (int64, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	seed := maphash.MakeSeed()
	seen := make(map[uint64]struct{}, stacks)
	var line []byte
	var written int64
	roots := []string{"runtime.goexit", "runtime.main;main.main", "runtime.goexit;net/http.(*conn).serve"}
	for len(seen) < stacks {
		line = line[:0]
		line = append(line, roots[p.rng.IntN(len(roots))]...)
		depth := 10 + p.rng.IntN(51)
		f := p.rng.IntN(len(p.Funcs))
		for range depth - 1 {
			line = append(line, ';')
			line = append(line, p.Funcs[f]...)
			c := p.callees[f]
			f = c[p.rng.IntN(len(c))]
		}
		h := maphash.Bytes(seed, line)
		if _, dup := seen[h]; dup {
			continue
		}
		seen[h] = struct{}{}
		line = append(line, ' ')
		line = strconv.AppendInt(line, int64(1+p.rng.IntN(1000)), 10)
		line = append(line, '\n')
		n, err := bw.Write(line)
		written += int64(n)
		if err != nil {
			return written, err
		}
	}
	return written, bw.Flush()
}

// String describes the program.
func (p *Program) String() string { return fmt.Sprintf("program of %d functions", len(p.Funcs)) }
