package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"

	"github.com/tracekit-go/tracekit/e2e/internal/jaeger"
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
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)

	jg, err := jaeger.Start(ctx, jaegerBin, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = jg.Stop() })

	grpcPort, httpPort, healthPort, metricsPort := freePort(t), freePort(t), freePort(t), freePort(t)
	var collectorLog bytes.Buffer
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
	service := exec.CommandContext(ctx, "go", "run", "../examples/service", "-orders", "20", "-workers", "4")
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
