package console

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// The pages' only style sheet and script, inlined into every page and
// allowed by the Content-Security-Policy through their hashes.
var (
	pageCSS = mustRead("templates/console.css")
	pageJS  = mustRead("templates/console.js")
	csp     = "default-src 'none'; style-src '" + sha256Source(pageCSS) + "'; script-src '" + sha256Source(pageJS) +
		"'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

func mustRead(name string) string {
	b, err := files.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// sha256Source is a CSP hash source for an inline element whose text is s.
func sha256Source(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// styleSheet and script are what the templates inline: typed so that
// html/template writes them as they are, byte for byte as hashed.
func styleSheet() template.CSS { return template.CSS(pageCSS) }
func script() template.JS      { return template.JS(pageJS) }

// secure sets the headers every response carries: no content sniffing, no
// framing, no script or style but the pages' own, no referrer sent to the
// trace viewer, and no reading by other origins' pages.
func secure(h http.Header) {
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// hostAllowed reports whether a request for host (the Host header, with or
// without a port) may be served: an IP literal, localhost or a name under
// .localhost, or one of allowed ("*" allows any). A page of another site
// that rebinds its own name to this machine's address sends its own name,
// and is refused.
func hostAllowed(host string, allowed []string) bool {
	if host == "" {
		return true // HTTP/1.0 without Host: not a browser
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	return slices.Contains(allowed, "*") || slices.Contains(allowed, host)
}

// crossSite reports whether r was made by a page of another origin, other
// than by a navigation of the browser's window to it (following a link):
// such a page could make the browser call the console repeatedly, unseen.
// Browsers say it in Sec-Fetch-Site; older ones send Origin.
func crossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return false
	case "":
	default: // cross-site, same-site (another port or subdomain)
		return r.Header.Get("Sec-Fetch-Mode") != "navigate" || r.Header.Get("Sec-Fetch-Dest") != "document"
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false // not a browser's cross-origin request
	}
	u, err := url.Parse(origin)
	return err != nil || !strings.EqualFold(u.Host, r.Host)
}
