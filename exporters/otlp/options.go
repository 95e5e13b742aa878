package otlp

import (
	"time"

	"go.opentelemetry.io/otel"
)

type config struct {
	endpoint string
	protocol Protocol
	headers  map[string]string
	timeout  time.Duration
	onError  func(error)
}

func newConfig(opts []Option) *config {
	c := &config{onError: otel.Handle}
	for _, o := range opts {
		o.apply(c)
	}
	return c
}

// Option configures an OTLP exporter.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithEndpoint sets where to send, as a URL (http://host:4318,
// https://collector.example:4317) or a bare host:port, which means plain
// text. For http/protobuf a URL without a path gets the signal's path
// (/v1/traces). Overrides OTEL_EXPORTER_OTLP_ENDPOINT and the signal-specific
// variable.
func WithEndpoint(endpoint string) Option {
	return optionFunc(func(c *config) { c.endpoint = endpoint })
}

// WithProtocol sets the transport. Overrides OTEL_EXPORTER_OTLP_PROTOCOL and
// the signal-specific variable. Default [ProtocolHTTPProtobuf].
func WithProtocol(p Protocol) Option {
	return optionFunc(func(c *config) { c.protocol = p })
}

// WithHeaders sets headers sent with every export (for example an API key).
// Overrides OTEL_EXPORTER_OTLP_HEADERS.
func WithHeaders(h map[string]string) Option {
	return optionFunc(func(c *config) { c.headers = h })
}

// WithTimeout bounds each export request, retries included. Overrides
// OTEL_EXPORTER_OTLP_TIMEOUT; the exporters' default is 10s.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.timeout = d })
}

// WithErrorHandler receives reports of environment values that were not
// understood and so ignored. Default: the OpenTelemetry global error handler.
func WithErrorHandler(f func(error)) Option {
	return optionFunc(func(c *config) {
		if f != nil {
			c.onError = f
		}
	})
}
