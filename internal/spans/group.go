package spans

import (
	"regexp"
	"strings"
)

// IDPlaceholder replaces the ids that [WithGroupIDs] finds in span names.
const IDPlaceholder = "{id}"

type groupRule struct {
	re   *regexp.Regexp
	repl string
}

// grouper rewrites span names so that names that differ only in ids
// aggregate into one frame. Results are cached per name: span names repeat
// far more than they vary.
type grouper struct {
	ids   bool
	rules []groupRule
	cache map[string]string
}

func (g *grouper) active() bool { return g.ids || len(g.rules) > 0 }

func (g *grouper) group(name string) string {
	if !g.active() {
		return name
	}
	if v, ok := g.cache[name]; ok {
		return v
	}
	out := name
	if g.ids {
		out = GroupIDs(out)
	}
	for _, r := range g.rules {
		out = r.re.ReplaceAllString(out, r.repl)
	}
	if g.cache == nil {
		g.cache = make(map[string]string)
	}
	g.cache[name] = out
	return out
}

// GroupIDs replaces every token of name that looks like an id with
// [IDPlaceholder]: "/users/123" becomes "/users/{id}" and
// "GET /orders/3f2b1c9e-5d7a-4f1e-9a0b-1c2d3e4f5a6b" becomes
// "GET /orders/{id}". Tokens are the runs between the separators
// / ? & = : , ; and space; a token is an id when it is all digits, a UUID,
// or 16 or more hex digits holding at least one digit. Other tokens ("v2",
// "sha256", "deadbeef") are kept.
func GroupIDs(name string) string {
	var b strings.Builder
	start := 0
	changed := false
	flush := func(end int) {
		tok := name[start:end]
		if isID(tok) {
			if !changed {
				b.Grow(len(name))
				b.WriteString(name[:start])
				changed = true
			}
			b.WriteString(IDPlaceholder)
		} else if changed {
			b.WriteString(tok)
		}
	}
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case '/', '?', '&', '=', ':', ',', ';', ' ':
			flush(i)
			if changed {
				b.WriteByte(name[i])
			}
			start = i + 1
		}
	}
	flush(len(name))
	if !changed {
		return name
	}
	return b.String()
}

func isID(tok string) bool {
	if tok == "" {
		return false
	}
	digits, hexes := 0, 0
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case '0' <= c && c <= '9':
			digits++
		case 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
			hexes++
		case c == '-':
		default:
			return false
		}
	}
	if digits == len(tok) {
		return true
	}
	if isUUID(tok) {
		return true
	}
	return digits > 0 && digits+hexes == len(tok) && len(tok) >= 16
}

func isUUID(tok string) bool {
	if len(tok) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := tok[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
			continue
		}
		if _, ok := unhex(c); !ok {
			return false
		}
	}
	return true
}
