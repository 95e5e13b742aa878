package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/google/pprof/profile"
	"go.yaml.in/yaml/v3"

	"github.com/tracekit-go/tracekit/e2e/internal/jaeger"
	"github.com/tracekit-go/tracekit/internal/testwait"
)

// repoRoot is the repository's top directory, seen from the e2e module.
const repoRoot = ".."

// loadCompose loads docker-compose.yml the way `docker compose` does,
// interpolation and validation included.
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{filepath.Join(repoRoot, "docker-compose.yml")},
		cli.WithWorkingDirectory(repoRoot), cli.WithName("tracekit"))
	if err != nil {
		t.Fatal(err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}
	return project
}

// TestComposeFile checks the stack statically: the services and their
// images, that every port is published on loopback only, that the services
// are wired to each other by environment, that start-up order follows health
// checks, and that every file the stack mounts or builds from exists and
// parses.
func TestComposeFile(t *testing.T) {
	project := loadCompose(t)
	want := []string{"grafana", "jaeger", "order-service", "otel-collector", "pyroscope"}
	if got := project.ServiceNames(); !slices.Equal(sorted(got), want) {
		t.Fatalf("services = %v, want %v", sorted(got), want)
	}
	for name, svc := range project.Services {
		if svc.Build == nil {
			if tag := svc.Image[strings.LastIndex(svc.Image, ":")+1:]; !strings.Contains(svc.Image, ":") || tag == "latest" {
				t.Errorf("%s: image %q is not pinned to a version", name, svc.Image)
			}
		}
		for _, p := range svc.Ports {
			if p.HostIP != "127.0.0.1" {
				t.Errorf("%s: port %d is published on %q, want 127.0.0.1 only", name, p.Target, p.HostIP)
			}
		}
		for _, v := range svc.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("%s: mounts %s, which does not exist: %v", name, v.Source, err)
			}
		}
	}

	svc := project.Services
	env := func(service, key string) string {
		v := svc[service].Environment[key]
		if v == nil {
			t.Errorf("%s: no %s in its environment", service, key)
			return ""
		}
		return *v
	}
	if got := env("order-service", "OTEL_EXPORTER_OTLP_ENDPOINT"); got != "http://otel-collector:4317" {
		t.Errorf("order-service exports to %q, want the collector's OTLP gRPC port", got)
	}
	if got := env("order-service", "OTEL_EXPORTER_OTLP_PROTOCOL"); got != "grpc" {
		t.Errorf("order-service protocol = %q", got)
	}
	if got := env("order-service", "OTEL_LOGS_EXPORTER"); got != "otlp" {
		t.Errorf("order-service logs exporter = %q, want otlp (the Collector's logs pipeline)", got)
	}
	if got := env("otel-collector", "JAEGER_OTLP_GRPC_ENDPOINT"); got != "jaeger:4317" {
		t.Errorf("collector forwards to %q, want jaeger:4317", got)
	}
	for _, dep := range []struct{ from, to, condition string }{
		{"otel-collector", "jaeger", types.ServiceConditionHealthy},
		{"grafana", "jaeger", types.ServiceConditionHealthy},
		{"grafana", "pyroscope", types.ServiceConditionStarted},
		{"order-service", "otel-collector", types.ServiceConditionStarted},
	} {
		d, ok := svc[dep.from].DependsOn[dep.to]
		if !ok || d.Condition != dep.condition {
			t.Errorf("%s depends on %s with %+v, want condition %s", dep.from, dep.to, d, dep.condition)
		}
		if dep.condition == types.ServiceConditionHealthy && svc[dep.to].HealthCheck == nil {
			t.Errorf("%s waits for %s to be healthy, but %s has no health check", dep.from, dep.to, dep.to)
		}
	}
	// The service's command line: every flag is one the service knows, and
	// the ports it listens on are the ones published.
	help := exec.Command("go", "run", "./examples/service", "-h")
	help.Dir = repoRoot // the example belongs to the root module
	usage, _ := help.CombinedOutput()
	cmd := svc["order-service"].Command
	published := map[uint32]bool{}
	for _, p := range svc["order-service"].Ports {
		published[p.Target] = true
	}
	for i, arg := range cmd {
		if !strings.HasPrefix(arg, "-") {
			continue
		}
		if !strings.Contains(string(usage), "\n  "+arg+" ") && !strings.Contains(string(usage), "\n  "+arg+"\n") {
			t.Errorf("order-service command flag %s is not one the service accepts:\n%s", arg, usage)
		}
		if (arg == "-listen" || arg == "-debug") && i+1 < len(cmd) {
			_, port, _ := strings.Cut(cmd[i+1], ":")
			n, err := strconv.Atoi(port)
			if err != nil || !published[uint32(n)] {
				t.Errorf("order-service %s %s: port not published (ports %v)", arg, cmd[i+1], svc["order-service"].Ports)
			}
		}
	}
	if got := env("order-service", "TRACEKIT_TRACE_URL"); !strings.HasPrefix(got, "http://localhost:16686/") || !strings.Contains(got, "{trace_id}") {
		t.Errorf("order-service TRACEKIT_TRACE_URL = %q, want the published Jaeger UI with {trace_id}", got)
	}
	if b := svc["order-service"].Build; b == nil {
		t.Error("order-service is not built from the repository")
	} else if _, err := os.Stat(filepath.Join(b.Context, b.Dockerfile)); err != nil {
		t.Errorf("order-service Dockerfile: %v", err)
	}

	for _, f := range []string{"deploy/jaeger.yaml", "deploy/otel-collector.yaml", "deploy/grafana/provisioning/datasources/datasources.yaml"} {
		data, err := os.ReadFile(filepath.Join(repoRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal(data, &doc); err != nil || len(doc) == 0 {
			t.Errorf("%s does not parse as YAML: %v", f, err)
		}
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// collectorBinary builds (once, cached) the Collector of e2e/collector.
func collectorBinary(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("sh", "collectorbin.sh").Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("collectorbin.sh: %v\n%s", err, stderr)
	}
	return strings.TrimSpace(string(out))
}

// startCollector runs the Collector bin with config until the test ends
// (or stop is called), and returns once it listens on port. Its output is
// logged when the test fails.
func startCollector(t *testing.T, ctx context.Context, bin, config, port string) (out *syncBuffer, stop func()) {
	t.Helper()
	out = new(syncBuffer)
	col := exec.CommandContext(ctx, bin, "--config=file:"+config)
	col.Stdout, col.Stderr = out, out
	if err := col.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = col.Process.Signal(os.Interrupt)
			_ = col.Wait()
		})
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("collector output:\n%s", out.String())
		}
	})
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err == nil {
			c.Close()
			return out, stop
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the collector never listened on %s", port)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestCollectorConfigValidates runs the Collector's own validate command on
// the configuration the stack mounts.
func TestCollectorConfigValidates(t *testing.T) {
	bin := collectorBinary(t)
	config := filepath.Join(repoRoot, "deploy", "otel-collector.yaml")
	out, err := exec.Command(bin, "validate", "--config=file:"+config).CombinedOutput()
	if err != nil {
		t.Fatalf("otelcol validate: %v\n%s", err, out)
	}

	// The check has teeth: a pipeline naming an exporter that is not
	// configured is refused.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	data, _ := os.ReadFile(config)
	if err := os.WriteFile(bad, bytes.Replace(data, []byte("exporters: [otlp_grpc/jaeger]"), []byte("exporters: [otlp_grpc/missing]"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "validate", "--config=file:"+bad).CombinedOutput(); err == nil {
		t.Errorf("validate accepted a pipeline with an undefined exporter:\n%s", out)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// TestCollectorPipelineToJaeger runs the stack's exact Collector
// configuration on loopback in front of a real Jaeger and the example service
// with the environment docker-compose.yml gives it (only the host names
// changed to loopback addresses), and finds the service's traces in Jaeger.
func TestCollectorPipelineToJaeger(t *testing.T) {
	project := loadCompose(t)
	jaegerBin := jaeger.Binary(t)
	collectorBin := collectorBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Scale(5*time.Minute))
	t.Cleanup(cancel)

	jg, err := jaeger.Start(ctx, jaegerBin, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = jg.Stop() })

	grpcPort, httpPort, healthPort, metricsPort := freePort(t), freePort(t), freePort(t), freePort(t)
	var collectorLog syncBuffer
	col := exec.CommandContext(ctx, collectorBin, "--config=file:"+filepath.Join(repoRoot, "deploy", "otel-collector.yaml"))
	col.Env = append(os.Environ(),
		"COLLECTOR_OTLP_GRPC_ENDPOINT=127.0.0.1:"+grpcPort,
		"COLLECTOR_OTLP_HTTP_ENDPOINT=127.0.0.1:"+httpPort,
		"COLLECTOR_HEALTH_ENDPOINT=127.0.0.1:"+healthPort,
		"COLLECTOR_METRICS_HOST=127.0.0.1",
		"COLLECTOR_METRICS_PORT="+metricsPort,
		"COLLECTOR_BATCH_TIMEOUT=100ms",
		"JAEGER_OTLP_GRPC_ENDPOINT="+jg.OTLPGRPCEndpoint(),
	)
	col.Stdout, col.Stderr = &collectorLog, &collectorLog
	if err := col.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = col.Process.Signal(os.Interrupt)
		_ = col.Wait()
		if t.Failed() {
			t.Logf("collector log:\n%s", collectorLog.String())
		}
	})
	waitHTTP(t, ctx, "http://127.0.0.1:"+healthPort+"/")

	// The example service, configured as the compose file configures it.
	svcEnv := os.Environ()
	for key, value := range project.Services["order-service"].Environment {
		if value == nil || key == "PYROSCOPE_SERVER_ADDRESS" { // profiles are not part of this pipeline
			continue
		}
		v := strings.ReplaceAll(*value, "otel-collector:4317", "127.0.0.1:"+grpcPort)
		svcEnv = append(svcEnv, key+"="+v)
	}
	service := exec.CommandContext(ctx, "go", "run", "./examples/service", "-orders", "20", "-workers", "4")
	service.Dir = repoRoot // the example belongs to the root module
	service.Env = svcEnv
	if out, err := service.CombinedOutput(); err != nil {
		t.Fatalf("example service: %v\n%s", err, out)
	}

	name := *project.Services["order-service"].Environment["OTEL_SERVICE_NAME"]
	traces, err := jg.FindTraces(ctx, name, 1)
	if err != nil {
		t.Fatal(err)
	}
	var orders int
	for _, tr := range traces {
		for _, s := range tr.Spans {
			if s.OperationName == "handle-order" {
				orders++
			}
		}
		if env, _ := tr.Processes[tr.Spans[0].ProcessID].Tag("deployment.environment.name"); env != "local" {
			t.Errorf("trace %s: deployment.environment.name = %v, want the compose file's value", tr.TraceID, env)
		}
	}
	if orders != 20 {
		t.Errorf("Jaeger holds %d handle-order spans of %s, want 20", orders, name)
	}

	// The Collector exposes its own metrics, and they count what it carried.
	metrics := get(t, ctx, "http://127.0.0.1:"+metricsPort+"/metrics")
	if !strings.Contains(metrics, "otelcol_receiver_accepted_spans") || !strings.Contains(metrics, "otelcol_exporter_sent_spans") {
		t.Errorf("collector metrics lack span counters:\n%.2000s", metrics)
	}

	// The logs pipeline: the failed order's slog record reached the
	// Collector over OTLP and its debug exporter printed it, with the trace
	// and span of the handle-order span Jaeger holds.
	spans := map[string]string{} // trace ID/span ID → operation
	for _, tr := range traces {
		for _, s := range tr.Spans {
			spans[s.TraceID+"/"+s.SpanID] = s.OperationName
		}
	}
	records := waitLogRecords(t, ctx, &collectorLog, 1)
	var failed int
	for _, r := range records {
		if r.body != "order failed" {
			continue
		}
		failed++
		if op := spans[r.traceID+"/"+r.spanID]; op != "handle-order" {
			t.Errorf("log record %q names span %s/%s, which Jaeger holds as %q, want a handle-order span", r.body, r.traceID, r.spanID, op)
		}
	}
	if failed == 0 {
		t.Errorf("the Collector printed no \"order failed\" log record:\n%s", collectorLog.String())
	}
	if m := get(t, ctx, "http://127.0.0.1:"+metricsPort+"/metrics"); !strings.Contains(m, `otelcol_exporter_sent_log_records{exporter="debug/logs"}`) {
		t.Errorf("collector metrics lack the logs exporter's counter:\n%.2000s", m)
	}
}

// logRecord is one log record as the Collector's debug exporter prints it
// with verbosity detailed.
type logRecord struct{ body, traceID, spanID string }

// parseLogRecords reads the log records out of the debug exporter's
// detailed output: a "LogRecord #N" line, then "Body: Str(...)", "Trace ID:"
// and "Span ID:" lines among others.
func parseLogRecords(out string) []logRecord {
	var recs []logRecord
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "LogRecord #"):
			recs = append(recs, logRecord{})
		case len(recs) == 0:
		case strings.HasPrefix(line, "Body: Str(") && strings.HasSuffix(line, ")"):
			recs[len(recs)-1].body = strings.TrimSuffix(strings.TrimPrefix(line, "Body: Str("), ")")
		case strings.HasPrefix(line, "Trace ID: "):
			recs[len(recs)-1].traceID = strings.TrimPrefix(line, "Trace ID: ")
		case strings.HasPrefix(line, "Span ID: "):
			recs[len(recs)-1].spanID = strings.TrimPrefix(line, "Span ID: ")
		}
	}
	return recs
}

// waitLogRecords waits until the Collector has printed at least n log
// records (the batch processor holds them for its timeout first).
func waitLogRecords(t *testing.T, ctx context.Context, out *syncBuffer, n int) []logRecord {
	t.Helper()
	deadline := time.After(testwait.Scale(time.Minute))
	for {
		if recs := parseLogRecords(out.String()); len(recs) >= n {
			return recs
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %d log records: %v\n%s", n, ctx.Err(), out.String())
		case <-deadline:
			t.Fatalf("the Collector printed fewer than %d log records in %v:\n%s", n, testwait.Scale(time.Minute), out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// syncBuffer is a bytes.Buffer that a running process writes to while the
// test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func waitHTTP(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never answered 200: %v", url, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func get(t *testing.T, ctx context.Context, url string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// grafanaDatasources is the part of a Grafana data source provisioning file
// the checks read.
type grafanaDatasources struct {
	APIVersion  int `yaml:"apiVersion"`
	Datasources []struct {
		Name     string         `yaml:"name"`
		UID      string         `yaml:"uid"`
		Type     string         `yaml:"type"`
		URL      string         `yaml:"url"`
		JSONData map[string]any `yaml:"jsonData"`
	} `yaml:"datasources"`
}

// The jsonData keys the Jaeger data source reads. tracesToLogsV2,
// tracesToMetrics, nodeGraph, traceIdTimeParams and spanBar are the ones
// Grafana's documentation lists for Jaeger ("Configure the Jaeger data
// source", provisioning example); tracesToProfiles is read from the jsonData
// of whichever tracing data source feeds the trace view, which then embeds
// a span's flame graph from Pyroscope for spans that carry
// pyroscope.profile.id (Grafana's "Profiles for this span" button is built
// by the Tempo data source alone). Its editor has no form for it, so it can
// only be provisioned.
var (
	jaegerJSONData           = []string{"nodeGraph", "spanBar", "traceIdTimeParams", "tracesToLogsV2", "tracesToMetrics", "tracesToProfiles"}
	tracesToProfilesJSONData = []string{"customQuery", "datasourceUid", "profileTypeId", "query", "tags"}
)

// checkDatasources returns what is wrong with a provisioning file for the
// stack: a Jaeger and a Pyroscope data source at the compose services'
// addresses, and traces-to-profiles from the first to the second with keys
// Grafana reads.
func checkDatasources(data []byte) []error {
	var doc grafanaDatasources
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return []error{err}
	}
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if doc.APIVersion != 1 {
		fail("apiVersion = %d, want 1", doc.APIVersion)
	}
	kinds := map[string]string{} // uid → type
	var jaegerData map[string]any
	for _, ds := range doc.Datasources {
		kinds[ds.UID] = ds.Type
		switch ds.Type {
		case "jaeger":
			if ds.URL != "http://jaeger:16686" {
				fail("Jaeger data source URL %q, want the jaeger service's query port http://jaeger:16686", ds.URL)
			}
			jaegerData = ds.JSONData
		case "grafana-pyroscope-datasource":
			if ds.URL != "http://pyroscope:4040" {
				fail("Pyroscope data source URL %q, want http://pyroscope:4040", ds.URL)
			}
		default:
			fail("data source %q has type %q, want jaeger or grafana-pyroscope-datasource", ds.Name, ds.Type)
		}
	}
	if jaegerData == nil {
		return append(errs, errors.New("no Jaeger data source with jsonData"))
	}
	for key := range jaegerData {
		if !slices.Contains(jaegerJSONData, key) {
			fail("Jaeger jsonData key %q is not one Grafana reads (%v)", key, jaegerJSONData)
		}
	}
	ttp, ok := jaegerData["tracesToProfiles"].(map[string]any)
	if !ok {
		return append(errs, errors.New("Jaeger jsonData has no tracesToProfiles section"))
	}
	for key := range ttp {
		if !slices.Contains(tracesToProfilesJSONData, key) {
			fail("tracesToProfiles key %q is not one Grafana reads (%v)", key, tracesToProfilesJSONData)
		}
	}
	if uid, _ := ttp["datasourceUid"].(string); kinds[uid] != "grafana-pyroscope-datasource" {
		fail("tracesToProfiles.datasourceUid %q is not a provisioned Pyroscope data source", uid)
	}
	// The embedded flame graph selects profiles by these labels (mapped
	// from the span's resource) and by span_id; pyroscope-go's uploads are
	// labelled service_name with the service name.
	tags, _ := ttp["tags"].([]any)
	var mapsService bool
	for _, tag := range tags {
		if m, ok := tag.(map[string]any); ok && m["key"] == "service.name" && m["value"] == "service_name" {
			mapsService = true
		}
	}
	if !mapsService {
		fail("tracesToProfiles.tags %v do not map service.name to service_name", tags)
	}
	if custom, _ := ttp["customQuery"].(bool); custom {
		fail("tracesToProfiles.customQuery is on, so the tags are not used")
	}
	return errs
}

// TestGrafanaDatasources checks the Grafana provisioning statically: data
// sources at the services' addresses, traces-to-profiles keys that Grafana
// reads, and a profile type that is the one Go's CPU profiles have.
func TestGrafanaDatasources(t *testing.T) {
	path := filepath.Join(repoRoot, "deploy", "grafana", "provisioning", "datasources", "datasources.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range checkDatasources(data) {
		t.Error(err)
	}

	// The checks have teeth: a misspelt section name, a key
	// the section does not have, and a link to a data source that is not
	// provisioned are each refused.
	for _, c := range []struct{ name, from, to string }{
		{"section name", "tracesToProfiles:", "traceToProfiles:"},
		{"unknown key", "profileTypeId:", "profileType:"},
		{"dangling uid", "datasourceUid: pyroscope", "datasourceUid: pyro"},
	} {
		if !bytes.Contains(data, []byte(c.from)) {
			t.Errorf("%s: %q is not in %s", c.name, c.from, path)
			continue
		}
		if errs := checkDatasources(bytes.Replace(data, []byte(c.from), []byte(c.to), 1)); len(errs) == 0 {
			t.Errorf("%s: replacing %q with %q passed the checks", c.name, c.from, c.to)
		}
	}

	// A profile type ID is name:sample type:sample unit:period type:period
	// unit. The name is the profiling server's (Pyroscope calls CPU
	// profiles process_cpu, which only the server can confirm); the other
	// four must be those of the CPU profiles the Go runtime writes, which
	// is what pyroscope-go uploads.
	var doc grafanaDatasources
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var id string
	for _, ds := range doc.Datasources {
		if ttp, ok := ds.JSONData["tracesToProfiles"].(map[string]any); ok {
			id, _ = ttp["profileTypeId"].(string)
		}
	}
	parts := strings.Split(id, ":")
	if len(parts) != 5 || parts[0] != "process_cpu" {
		t.Fatalf("profileTypeId %q, want process_cpu:<sample type>:<unit>:<period type>:<unit>", id)
	}
	p := cpuProfile(t)
	var sampleTypes []string
	for _, st := range p.SampleType {
		sampleTypes = append(sampleTypes, st.Type+":"+st.Unit)
	}
	if !slices.Contains(sampleTypes, parts[1]+":"+parts[2]) {
		t.Errorf("profileTypeId %q: a Go CPU profile's sample types are %v", id, sampleTypes)
	}
	if got := p.PeriodType.Type + ":" + p.PeriodType.Unit; got != parts[3]+":"+parts[4] {
		t.Errorf("profileTypeId %q: a Go CPU profile's period type is %s", id, got)
	}
}

// cpuProfile records a short CPU profile of this process.
func cpuProfile(t *testing.T) *profile.Profile {
	t.Helper()
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		t.Skipf("CPU profiler busy: %v", err)
	}
	time.Sleep(20 * time.Millisecond)
	pprof.StopCPUProfile()
	p, err := profile.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
