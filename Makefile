# tracekit — the two commands the README promises, and a few for daily work.
#
#   make demo   run the example workload with the file exporter and the
#               flight recorder (no server), and draw what it left
#   make test   every test: vet, unit tests with -race, end-to-end tests
#               against a real Jaeger (built once and cached)
#   make unit   the quick inner loop: vet and unit tests of the root module
#   make bench  the benchmarks, with benchstat's summary
#   make fuzz   a short run of every fuzz target
#   make stress the tests again and again under load (every core busy and a
#               compiler rebuilding the standard library), counting the runs
#               that pass: STRESS_RUNS=5 runs; STRESS_TARGET=test runs make
#               test on a fresh clone each time instead of the root module
#               (-race -count=STRESS_COUNT), leak-profile and e2e tests

SHELL := /bin/bash
GO    ?= go
export PATH := $(PATH):/usr/local/go/bin:$(shell $(GO) env GOPATH 2>/dev/null)/bin

OUT        ?= out
DEMO_DIR   := $(OUT)/demo
FUZZTIME   ?= 20s
BENCHCOUNT ?= 6
STRESS_RUNS   ?= 5
STRESS_TARGET ?= suite
STRESS_COUNT  ?= 2
BENCHSTAT  := golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da

.PHONY: demo load test fuzz-short unit vet e2e tools chromium bench fuzz stress screenshot clean

demo:
	@mkdir -p $(DEMO_DIR)
	@rm -rf $(DEMO_DIR)/traces.jsonl $(DEMO_DIR)/profiles $(DEMO_DIR)/flight $(DEMO_DIR)/*.svg
	@echo "Running the example order service with the file exporter, local CPU profiles and the flight recorder..."
	@OTEL_SERVICE_NAME=order-service OTEL_TRACES_EXPORTER=file \
	  TRACEKIT_FILE_PATH=$(DEMO_DIR)/traces.jsonl TRACEKIT_PROFILE_DIR=$(DEMO_DIR)/profiles \
	  TRACEKIT_FLIGHT_DIR=$(DEMO_DIR)/flight TRACEKIT_FLIGHT_SLOW_SPAN=40ms \
	  $(GO) run ./examples/service -orders 400 2>$(DEMO_DIR)/service.log
	@echo "Spans slower than 40ms named these execution-trace snapshots (tracekit.flight.file):"
	@grep -o '"key":"tracekit.flight.file","value":{"stringValue":"[^"]*"' $(DEMO_DIR)/traces.jsonl | \
	  cut -d'"' -f10 | sort | uniq -c | sed 's/^ */  /; s/ \([^ ]*\)$$/ spans: \1/'
	@echo "Drawing the span flame graph (wall-clock time of every order, by span)..."
	@$(GO) run ./cmd/flamegen $(DEMO_DIR)/traces.jsonl --title "order-service wall time by span" -o $(DEMO_DIR)/spans.svg
	@echo "Drawing the CPU flame graph (samples carry the span they ran in)..."
	@cpu=$$(ls -S $(DEMO_DIR)/profiles/cpu-*.pb.gz | head -1); \
	  $(GO) run ./cmd/flamegen "$$cpu" --title "order-service CPU" -o $(DEMO_DIR)/cpu.svg && \
	  $(GO) run ./cmd/flamegen "$$cpu" --tag span_name=compute-recommendations \
	    --title "order-service CPU inside compute-recommendations spans" -o $(DEMO_DIR)/cpu-recommendations.svg && \
	  $(GO) run ./cmd/flamegen "$$cpu" --format top --top 5
	@echo "Drawing spans and CPU in one graph, one trace on a time axis, and the report..."
	@cpu=$$(ls -S $(DEMO_DIR)/profiles/cpu-*.pb.gz | head -1); \
	  $(GO) run ./cmd/flamegen $(DEMO_DIR)/traces.jsonl "$$cpu" --slow 20ms \
	    --title "order-service: spans with the CPU stacks that ran in them" -o $(DEMO_DIR)/merged.svg
	@id=$$(head -c 4096 $(DEMO_DIR)/traces.jsonl | grep -o '"traceId":"[0-9a-f]*"' | head -1 | cut -d'"' -f4); \
	  $(GO) run ./cmd/flamegen --trace $$id $(DEMO_DIR)/traces.jsonl -o $(DEMO_DIR)/trace.svg
	@echo "Drawing the same trace with its goroutines' states, from the flight recorder's largest snapshot..."
	@id=$$(head -c 4096 $(DEMO_DIR)/traces.jsonl | grep -o '"traceId":"[0-9a-f]*"' | head -1 | cut -d'"' -f4); \
	  snap=$$(ls -S $(DEMO_DIR)/flight/*.trace | head -1); \
	  $(GO) run ./cmd/flamegen --trace $$id $(DEMO_DIR)/traces.jsonl "$$snap" -o $(DEMO_DIR)/trace-states.svg && \
	  $(GO) run ./cmd/flamegen report --top 5 $(DEMO_DIR)/traces.jsonl "$$snap" > $(DEMO_DIR)/report.txt
	@echo
	@echo "Output:"
	@echo "  $(DEMO_DIR)/traces.jsonl            spans, one OTLP JSON ExportTraceServiceRequest per line"
	@echo "  $(DEMO_DIR)/profiles/               rotating gzip pprof files with span labels"
	@echo "  $(DEMO_DIR)/spans.svg               span flame graph: where the orders' wall time went"
	@echo "  $(DEMO_DIR)/cpu.svg                 CPU flame graph (open in a browser)"
	@echo "  $(DEMO_DIR)/cpu-recommendations.svg CPU flame graph of one span's samples"
	@echo "  $(DEMO_DIR)/merged.svg              spans with the CPU stacks that ran in them"
	@echo "  $(DEMO_DIR)/trace.svg               one trace on a time axis (lanes, critical path, errors)"
	@echo "  $(DEMO_DIR)/flight/                 execution-trace snapshots the slow spans asked for"
	@echo "  $(DEMO_DIR)/trace-states.svg        the same trace with a band of runtime states under each span"
	@echo "  $(DEMO_DIR)/report.txt              slowest sections, waits, where the time went on the"
	@echo "                                      spans' goroutines, critical path, slowest traces"
	@echo "  $(DEMO_DIR)/service.log             JSON logs of failed orders, with trace and span ids"

# The example service in HTTP mode under 2,000 requests, then where the wall time went.
load:
	@mkdir -p $(OUT)/load
	@rm -f $(OUT)/load/traces.jsonl
	@OTEL_TRACES_EXPORTER=file TRACEKIT_FILE_PATH=$(OUT)/load/traces.jsonl OTEL_METRICS_EXPORTER=none \
	  $(GO) run ./examples/service -listen 127.0.0.1:0 -load 2000 -log $(OUT)/load/service.log
	@$(GO) run ./cmd/flamegen --format top --top 15 $(OUT)/load/traces.jsonl

test: vet unit e2e fuzz-short

# Every fuzz target for a few seconds, beyond the seed corpora the unit tests
# run. The budget is a count of executions, sized per target to a few seconds
# here: a wall-clock -fuzztime can fail with a bare "context deadline
# exceeded" when it expires while a worker is busy (a race in Go 1.26's fuzz
# coordinator, golang/go#75804), and a count has no deadline to race.
fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=

vet:
	$(GO) vet ./...
	$(GO) vet -tags tracekit_nosync ./tracekit/...
	cd e2e && $(GO) vet ./...

unit:
	$(GO) test -race -count=1 ./...
	$(GO) test -count=1 -tags tracekit_nosync ./tracekit/...
	@# Again with the runtime's goroutine leak profile (Go 1.26 experiment),
	@# which lets the leak checks prove a goroutine can never wake up.
	GOEXPERIMENT=goroutineleakprofile $(GO) test -count=1 -run 'Leak' ./tracekit/...

# Builds the real components the end-to-end tests run, once: Jaeger (about
# 17 minutes on two cores the first time) and an OpenTelemetry Collector
# (a few minutes), both cached in ~/.cache/tracekit, and installs Chromium.
tools: chromium
	@sh e2e/jaegerbin.sh >/dev/null
	@sh e2e/collectorbin.sh >/dev/null

# The browser tests drive Debian's Chromium.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Chromium for the browser tests (Debian package)..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

e2e: tools
	cd e2e && $(GO) test -race -count=1 -timeout 15m ./...

bench:
	@mkdir -p $(OUT)
	$(GO) test -run '^$$' -bench . -benchmem -count $(BENCHCOUNT) ./tracekit/... ./internal/detect/ ./internal/tasks/ | tee $(OUT)/bench.txt
	$(GO) run $(BENCHSTAT) $(OUT)/bench.txt
	$(GO) test -run '^$$' -bench BenchmarkMutexContended -benchmem -cpu 1,2 -count $(BENCHCOUNT) ./tracekit/ | tee $(OUT)/bench-contended.txt
	$(GO) run $(BENCHSTAT) $(OUT)/bench-contended.txt
	cd e2e && $(GO) test -run '^$$' -bench BenchmarkDeadlockDetection -benchmem -count $(BENCHCOUNT) . | tee ../$(OUT)/bench-deadlock.txt
	$(GO) run $(BENCHSTAT) $(OUT)/bench-deadlock.txt
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 3x -count $(BENCHCOUNT) ./internal/flame/ ./internal/flame/svg/ | tee $(OUT)/bench-flame.txt
	$(GO) run $(BENCHSTAT) $(OUT)/bench-flame.txt

# Every native fuzz target, as package:Function:executions for fuzz-short.
FUZZ_TARGETS := \
	./exporters/file:FuzzAppendRequest:10000 \
	./exporters/profiles:FuzzParseProfileFileName:100000 \
	./exporters/pyroscope:FuzzParseName:80000 \
	./exporters/pyroscope/pyroscopetest:FuzzDecode:40000 \
	./internal/env:FuzzParsers:300000 \
	./internal/env:FuzzDuration:300000 \
	./internal/env:FuzzFraction:300000 \
	./internal/cgroup:FuzzCgroupFiles:100000 \
	./internal/gostack:FuzzParse:300000 \
	./internal/testname:FuzzFromFunc:200000 \
	./internal/flame:FuzzDecode:30000 \
	./internal/flame:FuzzParseFolded:20000 \
	./internal/flame:FuzzWriteFolded:10000 \
	./internal/flame/svg:FuzzWrite:6000 \
	./internal/spans:FuzzDecode:20000 \
	./internal/spans:FuzzAnalyses:6000 \
	./internal/xtrace:FuzzParse:300000 \
	./internal/exectrace:FuzzJoin:60000 \
	./cmd/flamegen:FuzzByteSize:40000 \
	./e2e:FuzzFileCompat:20000

# With FUZZTIME empty each target runs for its execution count; otherwise for
# FUZZTIME (make fuzz FUZZTIME=10m for a long local run), where the deadline
# race above is recognised (a bare deadline error, no failing input) and
# passed over.
fuzz:
	@for t in $(FUZZ_TARGETS); do \
	  n=$${t##*:}; t=$${t%:*}; pkg=$${t%%:*}; fn=$${t##*:}; \
	  budget=$${n}x; [ -z "$(FUZZTIME)" ] || budget=$(FUZZTIME); \
	  dir=.; case $$pkg in ./e2e) dir=e2e; pkg=.;; ./e2e/*) dir=e2e; pkg=./$${pkg#./e2e/};; esac; \
	  echo "fuzz $$fn in $$pkg for $$budget"; \
	  out=$$(cd $$dir && $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $$budget $$pkg 2>&1) && continue; \
	  if [ -n "$(FUZZTIME)" ] && grep -q 'context deadline exceeded' <<<"$$out" && ! grep -q 'Failing input' <<<"$$out"; then \
	    echo "  (the fuzz coordinator's deadline race, golang/go#75804; no failing input was found)"; continue; fi; \
	  printf '%s\n' "$$out"; exit 1; \
	done

# Runs the tests STRESS_RUNS times under load and prints how many runs
# passed; .ci/stress starts the load and always stops it, also on failure
# or Ctrl-C. Each step's output is kept in $(OUT)/stress.
stress:
	@STRESS_RUNS=$(STRESS_RUNS) STRESS_TARGET=$(STRESS_TARGET) STRESS_COUNT=$(STRESS_COUNT) \
	  STRESS_OUT=$(OUT)/stress GO=$(GO) bash .ci/stress

# Refreshes docs/images/flamegraph.png, console.png, and the troubleshooting
# guide's trace-chart.png and diff-lock.png from the browser tests.
screenshot: tools
	cd e2e && $(GO) test -count=1 -run TestFlamegenBrowser . -args -flamegen.screenshot
	cd e2e && $(GO) test -count=1 -run TestConsoleInBrowser . -args -console.screenshot
	cd e2e && $(GO) test -count=1 -run TestGuideScreenshots . -args -guide.screenshot

clean:
	rm -rf $(OUT)
