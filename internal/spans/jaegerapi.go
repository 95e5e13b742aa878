package spans

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// JaegerQuery selects traces from Jaeger's HTTP query API (the v1 API its
// UI uses): either one trace by id, or a search by service.
type JaegerQuery struct {
	// Trace, when set, fetches that one trace (GET /api/traces/{id}) and
	// the other fields are ignored.
	Trace string
	// Service is required for a search (GET /api/traces?service=...).
	Service string
	// Operation narrows a search to one span name; empty means all.
	Operation string
	// Lookback is how far back a search looks; 0 means one hour.
	Lookback time.Duration
	// Limit is the most traces a search returns; 0 means 20, as in the
	// Jaeger UI.
	Limit int
	// Now is the end of the search window; the zero value means
	// time.Now().
	Now time.Time
}

// ErrJaegerQuery is wrapped by [ReadJaeger]'s errors for a query Jaeger
// refused or could not answer (HTTP status other than 200).
var ErrJaegerQuery = errors.New("jaeger query failed")

// URL returns the query's URL under base (the Jaeger query service, e.g.
// http://localhost:16686, with or without a trailing slash or a UI base
// path).
func (q JaegerQuery) URL(base string) (string, error) {
	u, err := url.Parse(strings.TrimSuffix(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("jaeger URL %q: want http(s)://host:port", base)
	}
	if q.Trace != "" {
		if _, ok := ParseTraceID(q.Trace); !ok {
			return "", fmt.Errorf("trace id %q: want up to 32 hex digits", q.Trace)
		}
		u.Path += "/api/traces/" + q.Trace
		return u.String(), nil
	}
	if q.Service == "" {
		return "", errors.New("jaeger query: a trace id or a service is required")
	}
	lookback, limit, now := q.Lookback, q.Limit, q.Now
	if lookback <= 0 {
		lookback = time.Hour
	}
	if limit <= 0 {
		limit = 20
	}
	if now.IsZero() {
		now = time.Now()
	}
	v := url.Values{
		"service": {q.Service},
		"limit":   {strconv.Itoa(limit)},
		"start":   {strconv.FormatInt(now.Add(-lookback).UnixMicro(), 10)},
		"end":     {strconv.FormatInt(now.UnixMicro(), 10)},
	}
	if q.Operation != "" {
		v.Set("operation", q.Operation)
	}
	u.Path += "/api/traces"
	u.RawQuery = v.Encode()
	return u.String(), nil
}

// ReadJaeger runs the query against the Jaeger query service at base and
// decodes the answer as [Read] does, streaming the response body. The
// input is named by the request URL in errors. client nil means
// http.DefaultClient. ctx bounds the whole request.
func ReadJaeger(ctx context.Context, client *http.Client, base string, q JaegerQuery, opts ...Option) (*Set, error) {
	u, err := q.URL(base)
	if err != nil {
		return nil, err
	}
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("query jaeger: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		msg := strings.Join(strings.Fields(string(body)), " ")
		return nil, fmt.Errorf("GET %s: %w: %s: %s", u, ErrJaegerQuery, resp.Status, msg)
	}
	return Read(resp.Body, u, opts...)
}
