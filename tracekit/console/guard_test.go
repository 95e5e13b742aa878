package console

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// serve serves a GET of target for host with the given request headers.
func serve(h http.Handler, host, target string, header ...string) *httptest.ResponseRecorder {
	rr := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Host = host
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	h.ServeHTTP(rr, req)
	return rr
}

// A page of another site whose name resolves to this machine (DNS
// rebinding) sends its own name as the Host: refused, unless allowed.
func TestConsoleHosts(t *testing.T) {
	t.Setenv("TRACEKIT_CONSOLE_HOSTS", "")
	h := Handler(WithoutRefresh())
	allowed := Handler(WithoutRefresh(), WithAllowedHosts("Console.Example.", "ops.internal"))
	for _, tc := range []struct {
		h    http.Handler
		host string
		code int
	}{
		{h, "127.0.0.1:6060", http.StatusOK},
		{h, "127.0.0.1", http.StatusOK},
		{h, "[::1]:6060", http.StatusOK},
		{h, "10.1.2.3:80", http.StatusOK},
		{h, "localhost:6060", http.StatusOK},
		{h, "LOCALHOST.:6060", http.StatusOK},
		{h, "console.localhost:6060", http.StatusOK},
		{h, "attacker.example:6060", http.StatusForbidden},
		{h, "attacker.example", http.StatusForbidden},
		{h, "localhost.attacker.example", http.StatusForbidden},
		{h, "127.0.0.1.attacker.example", http.StatusForbidden},
		{allowed, "console.example:6060", http.StatusOK},
		{allowed, "OPS.internal", http.StatusOK},
		{allowed, "127.0.0.1:6060", http.StatusOK},
		{allowed, "attacker.example:6060", http.StatusForbidden},
		{Handler(WithAllowedHosts("*")), "attacker.example", http.StatusOK},
	} {
		rr := serve(tc.h, tc.host, "/?format=json")
		if rr.Code != tc.code {
			t.Errorf("Host %s: %d, want %d: %s", tc.host, rr.Code, tc.code, rr.Body)
		}
		if rr.Code == http.StatusForbidden && !strings.Contains(rr.Body.String(), "WithAllowedHosts") {
			t.Errorf("Host %s: the refusal does not say how to allow it: %s", tc.host, rr.Body)
		}
	}

	t.Setenv("TRACEKIT_CONSOLE_HOSTS", " Ops.Internal , other.internal")
	if rr := serve(Handler(), "ops.internal:6060", "/?format=json"); rr.Code != http.StatusOK {
		t.Errorf("a host TRACEKIT_CONSOLE_HOSTS allows: %d", rr.Code)
	}
	if rr := serve(Handler(WithAllowedHosts("else.internal")), "ops.internal:6060", "/?format=json"); rr.Code != http.StatusForbidden {
		t.Errorf("WithAllowedHosts did not override TRACEKIT_CONSOLE_HOSTS: %d", rr.Code)
	}
}

// A page of another site cannot make the browser call the console behind
// the user's back (an image, a script, a fetch, a frame); following a link
// to it is fine.
func TestConsoleCrossSite(t *testing.T) {
	h := Handler(WithoutRefresh())
	const host = "127.0.0.1:6060"
	for _, tc := range []struct {
		name   string
		header []string
		code   int
	}{
		{"typed in", []string{"Sec-Fetch-Site", "none", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document"}, http.StatusOK},
		{"own link", []string{"Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document"}, http.StatusOK},
		{"link from elsewhere", []string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document"}, http.StatusOK},
		{"image", []string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "image"}, http.StatusForbidden},
		{"fetch", []string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty", "Origin", "http://attacker.example"}, http.StatusForbidden},
		{"frame", []string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "iframe"}, http.StatusForbidden},
		{"another port", []string{"Sec-Fetch-Site", "same-site", "Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "script"}, http.StatusForbidden},
		{"older browser, other origin", []string{"Origin", "http://attacker.example"}, http.StatusForbidden},
		{"older browser, same origin", []string{"Origin", "http://" + host}, http.StatusOK},
		{"sandboxed frame", []string{"Origin", "null"}, http.StatusForbidden},
		{"curl", nil, http.StatusOK},
	} {
		for _, target := range []string{"/", "/?task=1"} {
			rr := serve(h, host, target, tc.header...)
			if target == "/?task=1" && tc.code == http.StatusOK {
				continue // no such task: 404, but not refused
			}
			if rr.Code != tc.code {
				t.Errorf("%s, %s: %d, want %d", tc.name, target, rr.Code, tc.code)
			}
		}
	}
}

var (
	inlineStyle  = regexp.MustCompile(`(?s)<style>(.*?)</style>`)
	inlineScript = regexp.MustCompile(`(?s)<script>(.*?)</script>`)
)

// Every response says not to sniff its type and carries a policy that
// lets the pages run their own style and script, and nothing else.
func TestConsoleSecurityHeaders(t *testing.T) {
	h := Handler()
	rr := serve(h, "127.0.0.1", "/")
	policy := rr.Header().Get("Content-Security-Policy")
	for _, w := range []string{"default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"} {
		if !strings.Contains(policy, w) {
			t.Errorf("Content-Security-Policy %q lacks %q", policy, w)
		}
	}
	if strings.Contains(policy, "unsafe-inline") || strings.Contains(policy, "unsafe-eval") {
		t.Errorf("Content-Security-Policy %q allows any inline code", policy)
	}
	page := rr.Body.String()
	for what, re := range map[string]*regexp.Regexp{"style-src": inlineStyle, "script-src": inlineScript} {
		m := re.FindAllStringSubmatch(page, -1)
		if len(m) != 1 {
			t.Fatalf("%d inline elements for %s in the page", len(m), what)
		}
		sum := sha256.Sum256([]byte(m[0][1]))
		if want := what + " 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(policy, want) {
			t.Errorf("Content-Security-Policy %q does not allow the page's %s element: want %q", policy, what, want)
		}
	}
	if strings.Contains(page, " style=") || strings.Contains(page, " onclick=") || strings.Contains(page, " onload=") {
		t.Error("the page has an inline style or event attribute, which the policy forbids")
	}

	for _, tc := range []struct{ host, target string }{
		{"127.0.0.1", "/"}, {"127.0.0.1", "/?format=json"}, {"127.0.0.1", "/?task=999999999"},
		{"127.0.0.1", "/?task=x"}, {"127.0.0.1", "/?limit=0"}, {"attacker.example", "/"},
	} {
		rr := serve(h, tc.host, tc.target)
		if got := rr.Header().Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s %s (%d): X-Content-Type-Options %q", tc.host, tc.target, rr.Code, got)
		}
		if rr.Header().Get("Content-Security-Policy") != policy {
			t.Errorf("%s %s (%d): Content-Security-Policy %q", tc.host, tc.target, rr.Code, rr.Header().Get("Content-Security-Policy"))
		}
	}
}
