// Package pyroscopetest is an in-process HTTP server that accepts what a
// Pyroscope client uploads and decodes it, so that tests can check the
// profiles a program sends without a Pyroscope server.
//
// It speaks the push API the Go client uses: POST /ingest with the query
// parameters name, from, until, spyName, sampleRate, units and
// aggregationType, and a multipart/form-data body whose "profile" part is a
// gzipped pprof profile (and an optional "sample_type_config" part). Every
// request that deviates is answered 400 and recorded as an error. See the
// package Example.
package pyroscopetest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/pprof/profile"
)

// Upload is one decoded request.
type Upload struct {
	Name            string // the name parameter: application name and tags, "app{k=v,...}"
	App             string // the application name part of Name
	Tags            map[string]string
	From, Until     time.Time
	SpyName         string
	SampleRate      int
	Units           string
	AggregationType string
	Header          http.Header
	Profile         *profile.Profile
	// SampleTypeConfig is the raw JSON of the sample_type_config part, or
	// nil.
	SampleTypeConfig []byte
}

// Server records uploads. Its methods are safe for concurrent use.
type Server struct {
	srv *httptest.Server

	mu      sync.Mutex
	uploads []Upload
	errs    []error
}

// NewServer starts a server on 127.0.0.1. Close it when done.
func NewServer() *Server {
	s := &Server{}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("pyroscopetest: listen: %v", err))
	}
	s.srv.Listener = l
	s.srv.Start()
	return s
}

// URL is the server address to give the client.
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Uploads returns the uploads decoded so far, in arrival order.
func (s *Server) Uploads() []Upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Upload(nil), s.uploads...)
}

// Err returns the errors of the requests that were refused, joined.
func (s *Server) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(s.errs...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	u, err := decode(r)
	s.mu.Lock()
	if err != nil {
		s.errs = append(s.errs, err)
	} else {
		s.uploads = append(s.uploads, u)
	}
	s.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
	}
}

func decode(r *http.Request) (Upload, error) {
	var u Upload
	if r.Method != http.MethodPost || r.URL.Path != "/ingest" {
		return u, fmt.Errorf("%s %s: want POST /ingest", r.Method, r.URL.Path)
	}
	q := r.URL.Query()
	for _, p := range []string{"name", "from", "until", "spyName", "sampleRate", "units", "aggregationType"} {
		if !q.Has(p) {
			return u, fmt.Errorf("ingest: query parameter %q missing", p)
		}
	}
	var err error
	u.Name = q.Get("name")
	if u.App, u.Tags, err = ParseName(u.Name); err != nil {
		return u, err
	}
	from, err1 := strconv.ParseInt(q.Get("from"), 10, 64)
	until, err2 := strconv.ParseInt(q.Get("until"), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return u, fmt.Errorf("ingest: from/until: %w", err)
	}
	u.From, u.Until = time.Unix(0, from), time.Unix(0, until)
	u.SpyName, u.Units, u.AggregationType = q.Get("spyName"), q.Get("units"), q.Get("aggregationType")
	if u.SampleRate, err = strconv.Atoi(q.Get("sampleRate")); err != nil {
		return u, fmt.Errorf("ingest: sampleRate: %w", err)
	}
	u.Header = r.Header.Clone()

	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return u, fmt.Errorf("ingest: content type %q: want multipart/form-data", r.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return u, fmt.Errorf("ingest: multipart: %w", err)
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return u, fmt.Errorf("ingest: part %q: %w", part.FormName(), err)
		}
		switch part.FormName() {
		case "profile":
			if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
				return u, errors.New("ingest: profile part is not gzip")
			}
			if u.Profile, err = profile.Parse(bytes.NewReader(data)); err != nil {
				return u, fmt.Errorf("ingest: profile part: %w", err)
			}
		case "sample_type_config":
			u.SampleTypeConfig = data
		default:
			return u, fmt.Errorf("ingest: unexpected part %q", part.FormName())
		}
	}
	if u.Profile == nil {
		return u, errors.New("ingest: no profile part")
	}
	return u, nil
}

// ParseName splits an ingest name, "app{key=value,key=value}", into the
// application name and its tags.
func ParseName(name string) (app string, tags map[string]string, err error) {
	i := strings.IndexByte(name, '{')
	if i < 0 {
		return name, map[string]string{}, nil
	}
	if !strings.HasSuffix(name, "}") {
		return "", nil, fmt.Errorf("ingest: name %q: want app{key=value,...}", name)
	}
	app, tags = name[:i], map[string]string{}
	body := name[i+1 : len(name)-1]
	if body == "" {
		return app, tags, nil
	}
	for _, kv := range strings.Split(body, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return "", nil, fmt.Errorf("ingest: name %q: tag %q: want key=value", name, kv)
		}
		tags[k] = v
	}
	return app, tags, nil
}
