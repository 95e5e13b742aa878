package jaeger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// ErrNotFound is wrapped by the errors of [Server.Trace] and its relatives
// when the trace did not show up before the context ended.
var ErrNotFound = errors.New("trace not found")

// maxBody bounds how much of a query response is read.
const maxBody = 64 << 20

// Trace returns the trace with the given hex trace ID from the v1 API
// (GET /api/traces/{id}). A span is stored a moment after Jaeger receives it
// (about 0.1 s with the generated configuration), so Trace polls while Jaeger
// answers 404 and returns as soon as the trace exists, until ctx is done.
// Give ctx a deadline; the error then wraps [ErrNotFound] and ctx.Err().
//
// Spans exported in several requests may become visible at different times;
// use [Server.TraceWithSpans] to wait for all of them.
func (s *Server) Trace(ctx context.Context, traceID string) (*Trace, error) {
	return s.TraceWithSpans(ctx, traceID, 1)
}

// TraceWithSpans is like [Server.Trace] but keeps polling until the trace has
// at least n spans.
func (s *Server) TraceWithSpans(ctx context.Context, traceID string, n int) (*Trace, error) {
	var last *Trace
	_, err := s.poll(ctx, "/api/traces/"+url.PathEscape(traceID), func(body []byte) (bool, error) {
		var resp struct {
			Data []Trace `json:"data"`
		}
		if err := json.Unmarshal(body, &resp); err != nil {
			return false, fmt.Errorf("decode trace %s: %w", traceID, err)
		}
		if len(resp.Data) == 0 {
			return false, nil
		}
		last = &resp.Data[0]
		return len(last.Spans) >= n, nil
	})
	if err != nil {
		if last != nil {
			return nil, fmt.Errorf("get trace %s: has %d spans, want %d: %w", traceID, len(last.Spans), n, err)
		}
		return nil, fmt.Errorf("get trace %s: %w", traceID, err)
	}
	return last, nil
}

// V3Trace returns the body of GET /api/v3/traces/{id}: the trace as OTLP JSON
// (resourceSpans, scopeSpans, spans with hex IDs) wrapped in {"result": ...}.
// It polls like [Server.Trace].
func (s *Server) V3Trace(ctx context.Context, traceID string) ([]byte, error) {
	body, err := s.poll(ctx, "/api/v3/traces/"+url.PathEscape(traceID), func([]byte) (bool, error) { return true, nil })
	if err != nil {
		return nil, fmt.Errorf("get v3 trace %s: %w", traceID, err)
	}
	return body, nil
}

// Services returns the sorted names of the services Jaeger has stored spans
// of (GET /api/services). It does not wait for anything.
func (s *Server) Services(ctx context.Context) ([]string, error) {
	status, body, err := s.get(ctx, "/api/services")
	if err != nil {
		return nil, fmt.Errorf("get services: %w", err)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("get services: %s: %s", http.StatusText(status), snippet(body))
	}
	var resp struct {
		Data []string `json:"data"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("decode services: %w", err)
	}
	slices.Sort(resp.Data)
	return resp.Data, nil
}

// FindTraces searches the traces of service (GET /api/traces?service=...)
// and polls until at least n are found or ctx ends. Spans reach storage in
// batches, so a trace found early may still be missing spans.
func (s *Server) FindTraces(ctx context.Context, service string, n int) ([]Trace, error) {
	q := url.Values{"service": {service}, "limit": {strconv.Itoa(max(n, 20))}, "lookback": {"1h"}}
	var found []Trace
	_, err := s.poll(ctx, "/api/traces?"+q.Encode(), func(body []byte) (bool, error) {
		var resp struct {
			Data []Trace `json:"data"`
		}
		if err := json.Unmarshal(body, &resp); err != nil {
			return false, fmt.Errorf("decode traces: %w", err)
		}
		found = resp.Data
		return len(found) >= n, nil
	})
	if err != nil {
		return found, fmt.Errorf("find %d traces of %s (found %d): %w", n, service, len(found), err)
	}
	return found, nil
}

// poll GETs path until it answers 200 and done accepts the body, and returns
// that body. 404 means "not yet"; other statuses are errors.
func (s *Server) poll(ctx context.Context, path string, done func([]byte) (bool, error)) ([]byte, error) {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		status, body, err := s.get(ctx, path)
		switch {
		case err != nil && ctx.Err() == nil:
			return nil, err
		case err != nil:
			// The context ended during the request; report it below.
		case status == http.StatusOK:
			ok, err := done(body)
			if err != nil {
				return nil, err
			}
			if ok {
				return body, nil
			}
		case status != http.StatusNotFound:
			return nil, fmt.Errorf("GET %s: %s: %s", path, http.StatusText(status), snippet(body))
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", ErrNotFound, ctx.Err())
		case <-tick.C:
		}
	}
}

func (s *Server) get(ctx context.Context, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.QueryURL()+path, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, nil, fmt.Errorf("GET %s: %w", path, err)
	}
	return resp.StatusCode, body, nil
}

// snippet shortens a response body for an error message.
func snippet(b []byte) string {
	const n = 512
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
