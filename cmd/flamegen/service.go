package main

import (
	"github.com/tracekit-go/tracekit/internal/flame/svg"
	"github.com/tracekit-go/tracekit/internal/spans"
)

// serviceNames collects the services of the spans a run draws, so that a
// graph of one service's traces says the service once, in its subtitle,
// instead of in front of every frame.
type serviceNames map[string]struct{}

// add records the services of t's spans.
func (s serviceNames) add(t *spans.Trace) {
	for i := range t.Spans {
		s[t.Spans[i].Service] = struct{}{}
	}
}

// options returns [svg.WithoutPrefix] for "service: " when every span came
// from one named service, and nothing otherwise.
func (s serviceNames) options() []svg.Option {
	if len(s) != 1 {
		return nil
	}
	for name := range s {
		if name != "" {
			return []svg.Option{svg.WithoutPrefix(name+": ", "service "+name)}
		}
	}
	return nil
}
