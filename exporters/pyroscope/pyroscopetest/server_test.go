package pyroscopetest

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"runtime/pprof"
	"strings"
	"testing"
)

const validQuery = "name=app%7Bk%3Dv%7D&from=1&until=2&spyName=gospy&sampleRate=100&units=samples&aggregationType=sum"

// upload builds a request body the way the client does: a multipart form
// with a "profile" file part.
func upload(t testing.TB, profile []byte) (body []byte, contentType string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, err := w.CreateFormFile("profile", "profile.pprof")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(profile)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), w.FormDataContentType()
}

// heapProfile is a real gzipped pprof profile.
func heapProfile(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := pprof.Lookup("heap").WriteTo(&buf, 0); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecode(t *testing.T) {
	good, ct := upload(t, heapProfile(t))
	plain, plainCT := upload(t, []byte("not gzip"))
	tests := []struct {
		name    string
		method  string
		path    string
		query   string
		ct      string
		body    []byte
		wantErr string
	}{
		{"valid", http.MethodPost, "/ingest", validQuery, ct, good, ""},
		{"GET", http.MethodGet, "/ingest", validQuery, ct, good, "want POST /ingest"},
		{"other path", http.MethodPost, "/push", validQuery, ct, good, "want POST /ingest"},
		{"missing units", http.MethodPost, "/ingest", strings.Replace(validQuery, "&units=samples", "", 1), ct, good, `"units" missing`},
		{"bad from", http.MethodPost, "/ingest", strings.Replace(validQuery, "from=1", "from=x", 1), ct, good, "from/until"},
		{"not multipart", http.MethodPost, "/ingest", validQuery, "application/octet-stream", good, "want multipart/form-data"},
		{"profile not gzip", http.MethodPost, "/ingest", validQuery, plainCT, plain, "not gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path+"?"+tt.query, bytes.NewReader(tt.body))
			r.Header.Set("Content-Type", tt.ct)
			u, err := decode(r)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if u.App != "app" || u.Tags["k"] != "v" || u.SampleRate != 100 || u.Profile == nil || u.Until.UnixNano() != 2 {
					t.Fatalf("decoded %+v", u)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// FuzzDecode feeds arbitrary queries, content types and bodies to the
// decoder: it must refuse or decode, never panic, and a decoded upload
// always has a profile.
func FuzzDecode(f *testing.F) {
	good, ct := upload(f, heapProfile(f))
	f.Add(validQuery, ct, good)
	f.Add(validQuery, ct, []byte("--x\r\n"))
	f.Add("name=a", "multipart/form-data; boundary=x", []byte("--x--\r\n"))
	f.Fuzz(func(t *testing.T, query, contentType string, body []byte) {
		r, err := http.NewRequest(http.MethodPost, "http://127.0.0.1/ingest", bytes.NewReader(body))
		if err != nil {
			t.Skip()
		}
		r.URL.RawQuery = query
		r.Header.Set("Content-Type", contentType)
		u, err := decode(r)
		if err == nil && u.Profile == nil {
			t.Fatal("decoded an upload without a profile")
		}
	})
}
