package file

// config holds the settings an [Option] can change. The zero value is the
// default.
type config struct {
	syncEveryExport bool
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		if o != nil {
			c = o.apply(c)
		}
	}
	return c
}

// Option configures an [Exporter]. It is sealed: the With functions of this
// package are the only implementations.
type Option interface {
	apply(config) config
}

type optionFunc func(config) config

func (f optionFunc) apply(c config) config { return f(c) }

// WithSyncEveryExport makes [Exporter.ExportSpans] flush every batch to
// stable storage before it returns, as [Exporter.ForceFlush] does: an fsync
// for a regular file opened by [New], a call to Flush for a writer given to
// [NewWriter] that has a Flush() error method. It trades throughput for
// durability: a batch that ExportSpans reported as exported survives a power
// loss.
//
// The default is to leave durability to the operating system and to
// [Exporter.ForceFlush] and [Exporter.Shutdown], which always flush.
func WithSyncEveryExport() Option {
	return optionFunc(func(c config) config {
		c.syncEveryExport = true
		return c
	})
}
