package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"

	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/tkhttp"
)

// The HTTP mode: requests go through otelhttp and tkhttp, then onto a bounded queue
// (a tracekit.Chan) that a fixed pool of workers (a tracekit.Group with a
// limit) drains; each worker runs handleOrder under the request's span and
// hands the result back on a reply channel. Prices come from a cache whose
// one lock is held across the slow refresh, so concurrent orders queue on it.

// job is one order on its way from a request to a worker. ctx is the
// request's context, so the order's spans are children of the request span.
type job struct {
	ctx   context.Context
	order order
	reply *tracekit.Chan[error] // buffered: a worker never blocks on a client that left
}

// server holds the state of the HTTP mode. Its methods are safe for
// concurrent use.
type server struct {
	logger *slog.Logger
	seed   uint64
	queue  *tracekit.Chan[job]
	prices *priceCache
	nextID atomic.Int64

	processed, failed atomic.Int64
}

func newServer(logger *slog.Logger, o options) *server {
	return &server{
		logger: logger,
		seed:   o.seed,
		queue:  tracekit.NewChan[job]("order-queue", o.workers),
		prices: newPriceCache(o.fixedCache),
	}
}

// work runs the worker pool until the queue is closed and drained.
func (s *server) work(ctx context.Context, workers int) error {
	pool := tracekit.NewGroup(ctx, "order-workers", tracekit.WithLimit(workers))
	for range workers {
		pool.Go("order-worker", func(ctx context.Context) error {
			for {
				// A worker stops only when the queue is closed and empty, so
				// no accepted job is lost. Waiting for work is a plain
				// receive: an idle worker is not a slow operation, and
				// tracing it would hang a chan.recv span per idle spell under
				// a task span that lives as long as the server.
				var j job
				select {
				case next, ok := <-s.queue.C():
					if !ok {
						return nil
					}
					j = next
				case <-ctx.Done():
					return context.Cause(ctx)
				}
				err := handleOrder(j.ctx, s.logger, j.order, s.prices)
				s.processed.Add(1)
				if err != nil {
					s.failed.Add(1)
				}
				j.reply.C() <- err
			}
		})
	}
	return pool.Wait()
}

// traceContext carries the trace from the load generator's client spans to
// the server spans in W3C traceparent headers.
var traceContext = otelhttp.WithPropagators(propagation.TraceContext{})

// handler is the service's HTTP handler: every request gets a server span
// named after its route ("POST /orders"), and is a tracekit task bound to
// it while it runs, so that the console lists the requests in flight and
// what each waits on.
func (s *server) handler() http.Handler {
	return otelhttp.NewHandler(tkhttp.Handler(s.routes()), "order-service", traceContext)
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /orders", s.postOrder)
	mux.HandleFunc("GET /orders", s.getOrders)
	return mux
}

// orderResult is the body of a POST /orders response.
type orderResult struct {
	ID     int    `json:"id"`
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// postOrder places an order: the body may be empty or {"id": N}; without an
// id the server numbers the order itself. The simulated latencies and
// failures follow from the seed and the id, as in the batch mode.
func (s *server) postOrder(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID *int `json:"id"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<10)).Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		http.Error(w, "body: want empty or {\"id\": N}: "+err.Error(), http.StatusBadRequest)
		return
	}
	id := int(s.nextID.Add(1) - 1)
	if req.ID != nil {
		id = *req.ID
	}
	if id < 0 {
		http.Error(w, "id must not be negative", http.StatusBadRequest)
		return
	}
	o := newOrder(id, rand.New(rand.NewPCG(s.seed, uint64(id))))
	j := job{ctx: r.Context(), order: o, reply: tracekit.NewChan[error]("order-reply", 1)}
	// Both waits are traced: a full queue becomes a chan.send span, a slow
	// order a chan.recv span, under the request's span.
	if err := s.queue.Send(r.Context(), j); err != nil {
		http.Error(w, "order queue: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	err, recvErr := j.reply.Recv(r.Context())
	if recvErr != nil {
		http.Error(w, "waiting for the order: "+recvErr.Error(), http.StatusServiceUnavailable)
		return
	}
	res := orderResult{ID: id, Status: "placed"}
	code := http.StatusOK
	if err != nil {
		res.Status, res.Error = "failed", err.Error()
		code = http.StatusInternalServerError
		if errors.Is(err, errOutOfStock) {
			code = http.StatusConflict
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(res)
}

// getOrders reports how many orders were processed and how many failed.
func (s *server) getOrders(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]int64{
		"processed": s.processed.Load(),
		"failed":    s.failed.Load(),
	})
}

// priceCache is the deliberately contended lock of the service: one
// tracekit.Mutex guards every product's price, and a stale price is
// refreshed while it is held, so orders wait on each other's refreshes
// (lock.wait spans under fetch-prices, the tracekit.lock.wait histogram).
type priceCache struct {
	mu      tracekit.Mutex
	ttl     time.Duration
	fixed   bool               // refresh outside the lock
	entries map[int]priceEntry // by product; guarded by mu
}

type priceEntry struct {
	cents   int
	fetched time.Time
}

func newPriceCache(fixed bool) *priceCache {
	c := &priceCache{
		fixed:   fixed,
		ttl:     20 * time.Millisecond,
		entries: map[int]priceEntry{},
	}
	c.mu.SetName("price-cache")
	return c
}

// products is how many products the orders spread over.
const products = 8

// lookup returns once the price of o's product is fresh. A refresh takes
// o.priceLatency and, unless the cache is fixed, happens under the lock —
// the mistake this example makes on purpose, for the traces to show.
func (c *priceCache) lookup(ctx context.Context, o order) error {
	if err := c.mu.LockContext(ctx); err != nil {
		return err
	}
	product := o.id % products
	if e, ok := c.entries[product]; ok && time.Since(e.fetched) < c.ttl {
		c.mu.Unlock()
		return nil
	}
	if c.fixed {
		// The fix: fetch without the lock, take it again only to store.
		c.mu.Unlock()
		if err := sleep(ctx, o.priceLatency); err != nil {
			return err
		}
		if err := c.mu.LockContext(ctx); err != nil {
			return err
		}
	} else if err := sleep(ctx, o.priceLatency); err != nil {
		c.mu.Unlock()
		return err
	}
	c.entries[product] = priceEntry{cents: 100 + 7*product, fetched: time.Now()}
	c.mu.Unlock()
	return nil
}

// serve runs the HTTP mode: it listens on o.listen and, with -load, sends
// itself o.load requests (in rounds forever with -loop) and prints their
// latency percentiles; without -load it serves until ctx is done.
func serve(ctx context.Context, logger *slog.Logger, o options, out io.Writer) error {
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	s := newServer(logger, o)
	srv := &http.Server{
		Handler:           s.handler(),
		ReadHeaderTimeout: 5 * time.Second,
	}
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	var workErr, serveErr error
	wg.Go(func() { workErr = s.work(workCtx, o.workers) })
	wg.Go(func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			serveErr = err
		}
	})
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "listening on %s (POST/GET %s/orders)\n", ln.Addr(), base)

	var loadErr error
	if o.load > 0 {
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.MaxIdleConnsPerHost = o.concurrency
		defer transport.CloseIdleConnections()
		client := &http.Client{Transport: otelhttp.NewTransport(transport, traceContext), Timeout: 30 * time.Second}
		for round := 1; ; round++ {
			began := time.Now()
			st, err := generateLoad(ctx, client, base+"/orders", o.load, o.concurrency)
			if err != nil {
				if ctx.Err() == nil { // an interrupt between rounds is the way to stop -loop
					loadErr = err
				}
				break
			}
			fmt.Fprintf(out, "load round %d: %s\n", round, st)
			if !o.loop || sleep(ctx, time.Until(began.Add(o.every))) != nil {
				break
			}
		}
	} else {
		<-ctx.Done()
	}

	// Shut down in order: stop taking requests and let the running ones
	// finish, then close the queue so the workers drain it and return.
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	shutdownErr := srv.Shutdown(shutdownCtx)
	s.queue.Close()
	wg.Wait()
	fmt.Fprintf(out, "served %d orders (%d failed)\n", s.processed.Load(), s.failed.Load())
	return errors.Join(loadErr, serveErr, shutdownErr, workErr)
}

// loadStats summarises one round of generated load.
type loadStats struct {
	requests, failed   int // failed: transport errors and 5xx; 409 (out of stock) is an answer
	codes              map[int]int
	p50, p90, p99, max time.Duration
	elapsed            time.Duration
}

func (st loadStats) String() string {
	codes := make([]int, 0, len(st.codes))
	for c := range st.codes {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var byCode string
	for _, c := range codes {
		byCode += " " + strconv.Itoa(c) + ":" + strconv.Itoa(st.codes[c])
	}
	return fmt.Sprintf("%d requests in %v (%.0f/s), %d failed; latency p50 %v p90 %v p99 %v max %v; status%s",
		st.requests, st.elapsed.Round(time.Millisecond), float64(st.requests)/st.elapsed.Seconds(), st.failed,
		st.p50.Round(10*time.Microsecond), st.p90.Round(10*time.Microsecond),
		st.p99.Round(10*time.Microsecond), st.max.Round(10*time.Microsecond), byCode)
}

// generateLoad sends n POST requests to url, concurrency at a time, and
// measures each one's latency. It stops early, with the requests done so
// far, when ctx is done.
func generateLoad(ctx context.Context, client *http.Client, url string, n, concurrency int) (loadStats, error) {
	began := time.Now()
	latencies := make([]time.Duration, n)
	codes := make([]int, n) // 0: transport error or not sent
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(concurrency, n) {
		wg.Go(func() {
			for {
				if ctx.Err() != nil {
					return
				}
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				t0 := time.Now()
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
				if err != nil {
					continue
				}
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				latencies[i], codes[i] = time.Since(t0), resp.StatusCode
			}
		})
	}
	wg.Wait()
	st := loadStats{codes: map[int]int{}, elapsed: time.Since(began)}
	var done []time.Duration
	for i, c := range codes {
		if i >= int(min(next.Load(), int64(n))) {
			break
		}
		st.requests++
		if c == 0 || c >= 500 {
			st.failed++
		}
		if c != 0 {
			st.codes[c]++
			done = append(done, latencies[i])
		}
	}
	if st.requests == 0 {
		return st, fmt.Errorf("load: no request sent: %w", context.Cause(ctx))
	}
	slices.Sort(done)
	pct := func(p float64) time.Duration {
		if len(done) == 0 {
			return 0
		}
		return done[min(len(done)-1, int(p*float64(len(done))))]
	}
	st.p50, st.p90, st.p99, st.max = pct(0.50), pct(0.90), pct(0.99), pct(1)
	return st, nil
}
