#!/usr/bin/env bash
# make bench: the hot paths' Go benchmarks, then the sustained end-to-end rate against the
# baseline's (`unmogrowp-bench sustained`) and short load-tool runs (`unmogrowp-bench
# loadgen`) against `unmogrowp serve` and against `unmogrowp-bench baseline` (the seed's
# handler shape) in the same run, written as tables to docs/performance.md (BENCH_OUT). About 10 minutes on 2 cores.
#
# Settings (environment): BENCH_COUNT (3) runs of each Go benchmark; BENCH_SUSTAINED_DURATION
# (30s) of sending in the sustained run, which leads the report; BENCH_LOAD_DURATION
# (10s) of each other load run; BENCH_VISIBLE_RATE (100000) events/s of the last fixed-rate run
# whose delay from 200 to visible is measured (the one before runs at half the rate the
# batch run sustained end to end); BENCH_SKIP_GO=1 or BENCH_SKIP_LOAD=1 to leave a part out;
# BENCH_OUT (docs/performance.md) where the report goes; BENCH_COMMIT what to call the
# code measured (default: the git commit, and whether the tree has changes); BENCH_KEEP=1
# to keep the raw results (go run ./cmd/unmogrowp-bench report --dir DIR writes the report again).
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${BENCH_COUNT:-3}
LOAD_D=${BENCH_LOAD_DURATION:-10s}
VISIBLE_RATE=${BENCH_VISIBLE_RATE:-100000}
OUT=${BENCH_OUT:-docs/performance.md}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/unmogrowp-bench.XXXXXX")
mkdir -p "$WORK/load"
PIDS=()

cleanup() {
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	done
	if [ "${BENCH_KEEP:-}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

log() { printf '\n== %s\n' "$*" >&2; }

# --- the machine ---------------------------------------------------------------------
{
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores (nproc)"
	echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
	echo "kernel: $(uname -sr)"
	echo "Go: $(go version | sed 's/^go version //')"
	echo "commit: ${BENCH_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' with uncommitted changes')}"
	echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) (other processes on the machine take cores from the run)"
} >"$WORK/machine.txt"

# --- Go benchmarks ---------------------------------------------------------------------
# gobench PACKAGE REGEXP BENCHTIME COUNT [NAME=VALUE...] runs benchmarks with the environment.
gobench() {
	local pkg=$1 re=$2 bt=$3 count=$4
	shift 4
	local cmd="go test -run '^\$' -bench '$re' -benchtime $bt -count $count $pkg"
	if [ $# -gt 0 ]; then cmd="$* $cmd"; fi
	echo "$cmd" >>"$WORK/go-commands.txt"
	log "$cmd"
	env "$@" go test -run '^$' -bench "$re" -benchtime "$bt" -count "$count" "$pkg" | tee -a "$WORK/go-bench.txt"
}

if [ "${BENCH_SKIP_GO:-}" != 1 ]; then
	gobench ./ingest '^Benchmark(EventsHandler|IngestBatch)$' 1s "$COUNT" # decode + validate (handler alone; with a real WAL)
	gobench . '^BenchmarkEventRecord$' 1s "$COUNT"                           # the log record codec
	gobench ./wal '^BenchmarkAppend$' 2s "$COUNT"                            # durable log append, group commit
	gobench ./pebble '^BenchmarkClaim$' 1s "$COUNT"                          # event id deduplication (Pebble)
	gobench ./inmem '^Benchmark(Apply|Candidates|Device|DeviceSpammed)$' 1s "$COUNT" # the hot state, spammed devices included
	gobench ./inmem '^BenchmarkMemory$' 1x 1                                 # its memory per touchpoint (steady: once)
	gobench ./attribution '^BenchmarkDecide$' 1s "$COUNT"                    # one install's decision, click spam included
	gobench ./pipeline '^BenchmarkAttributor$' 20x "$COUNT"                  # the attribution stage
	gobench ./pipeline '^BenchmarkPipeline$' 1x "$COUNT"                     # dedup + attribution + enrichment into DuckDB
	gobench ./duckdb '^BenchmarkAppend$' 1s "$COUNT"                         # store append
	gobench ./duckdb '^BenchmarkStageMoves$' 1x "$COUNT"                     # the stage's moves, and the checkpoint after them
	gobench ./duckdb '^BenchmarkAttribution(Spammed)?$' 1s "$COUNT"              # the API's lookup of a device's install
	gobench ./duckdb '^BenchmarkReports$' 5x "$COUNT" UNMOGROWP_BENCH_REPORT_EVENTS=300000 # report queries
	gobench ./api '^BenchmarkCostImport$' 3x 1                               # a 100,000-row cost CSV through the API into SQLite (and PostgreSQL when set)
fi

# --- load --------------------------------------------------------------------------------
if [ "${BENCH_SKIP_LOAD:-}" != 1 ]; then
	BIN=$WORK/unmogrowp
	BENCH=$WORK/unmogrowp-bench
	log "go build -o $BIN ./cmd/unmogrowp; go build -o $BENCH ./cmd/unmogrowp-bench"
	go build -o "$BIN" ./cmd/unmogrowp
	go build -o "$BENCH" ./cmd/unmogrowp-bench

	# addr_of FILE NAME waits for "NAME=host:port" (serve's log) or "on host:port" in FILE.
	addr_of() {
		local file=$1 name=$2 a=""
		for _ in $(seq 1 300); do
			a=$(grep -o "$name[= ][0-9.]*:[0-9]*" "$file" 2>/dev/null | head -1 | sed "s/^$name[= ]//") || true
			if [ -n "$a" ]; then
				echo "$a"
				return 0
			fi
			sleep 0.1
		done
		echo "no $name address in $file:" >&2
		cat "$file" >&2
		return 1
	}
	# loadrun NAME ARGS... runs loadgen --json and keeps its result and command line.
	n=0
	loadrun() {
		local name=$1
		shift
		n=$((n + 1))
		local base
		base=$(printf '%s/load/%02d-%s' "$WORK" "$n" "$name")
		# The command line as one would type it: the run's addresses and keys by name.
		local line="unmogrowp-bench loadgen $*"
		for v in INGEST API BASE SDK SRV APP; do
			if [ -n "${!v:-}" ]; then line=${line//${!v}/\$$v}; fi
		done
		echo "$line" >"$base.cmd"
		log "$name: unmogrowp-bench loadgen $*"
		"$BENCH" loadgen --json "$@" >"$base.json"
		cat "$base.json" >&2
	}

	DATA=$WORK/data
	log "unmogrowp serve --data-dir $DATA"
	"$BIN" serve --data-dir "$DATA" --ingest-addr 127.0.0.1:0 --api-addr 127.0.0.1:0 --pprof-addr 127.0.0.1:0 \
		--log-level info >"$WORK/serve.log" 2>&1 &
	PIDS+=($!)
	INGEST=http://$(addr_of "$WORK/serve.log" ingest)
	API=http://$(addr_of "$WORK/serve.log" api)
	PPROF=http://$(addr_of "$WORK/serve.log" pprof)
	for _ in $(seq 1 100); do curl -sf "$INGEST/health" >/dev/null && break || sleep 0.2; done
	# The app belongs to a registered user (apps create --owner).
	curl -sf "$API/api/auth/register" -d '{"email":"bench@example.com","password":"bench passphrase"}' >/dev/null
	"$BIN" apps create --data-dir "$DATA" --owner bench@example.com --name bench --platform android --json >"$WORK/app.json"
	field() { grep -o "\"$1\":\"[^\"]*\"" "$WORK/app.json" | cut -d'"' -f4; }
	APP=$(field id)
	SDK=$(field sdk_key)
	SRV=$(field server_key)

	# First, on the fresh server: the sustained end-to-end rate against the baseline's in the
	# same run (issue 26's first figure), which leads the report.
	SUSTAINED_D=${BENCH_SUSTAINED_DURATION:-30s}
	echo "unmogrowp-bench sustained --url \$INGEST --api-url \$API --key \$SDK --server-key \$SRV --app-id \$APP -c 32 --batch 100 -d $SUSTAINED_D" >"$WORK/sustained.cmd"
	log "$(cat "$WORK/sustained.cmd")"
	"$BENCH" sustained --url "$INGEST" --api-url "$API" --key "$SDK" --server-key "$SRV" --app-id "$APP" \
		-c 32 --batch 100 -d "$SUSTAINED_D" --server-pid "${PIDS[0]}" --json >"$WORK/sustained.json"
	cat "$WORK/sustained.json" >&2

	# The batch run also takes a CPU profile of the server, and every serve run waits until
	# the pipeline drained (--visible), so that one run's backlog is not the next one's.
	curl -s -o "$WORK/cpu.pprof" "$PPROF/debug/pprof/profile?seconds=5" &
	PROF=$!
	# (The pipeline yields to ingestion during this burst, PIPELINE_YIELD_LIMIT, and drains
	# the backlog after it: its markers may take a minute to be visible.)
	loadrun serve-batch --url "$INGEST" --key "$SDK" --api-url "$API" --app-id "$APP" --server-key "$SRV" \
		--mix events=100 --batch 100 -c 32 -d "$LOAD_D" --visible --visible-timeout 180s
	wait $PROF || true
	{
		go tool pprof -top -nodecount=25 "$BIN" "$WORK/cpu.pprof" 2>/dev/null | sed -n '/^Showing nodes/,$p'
		echo
		go tool pprof -top -cum -nodecount=40 "$BIN" "$WORK/cpu.pprof" 2>/dev/null | sed -n '/flat%/,$p'
	} >"$WORK/profile-top.txt" || true
	loadrun serve-single --url "$INGEST" --key "$SDK" --api-url "$API" --app-id "$APP" --server-key "$SRV" \
		--mix events=100 --batch 1 -c 64 -d "$LOAD_D" --visible --visible-timeout 60s
	# Mixed traffic (events, S2S touchpoints, clicks on a link it creates) at fixed rates:
	# half of what the batch run sustained end to end, then issue 7's 100,000 events/s
	# (last: a rate the server cannot take leaves a backlog behind).
	HALF=$(grep -o '"pipeline_events_per_second":[0-9.e+]*' "$WORK"/load/01-serve-batch.json | cut -d: -f2 | awk '{printf "%d", $1 / 2}')
	if [ -n "$HALF" ] && [ "$HALF" -gt 0 ]; then
		loadrun serve-mixed-half --url "$INGEST" --key "$SDK" --api-url "$API" --app-id "$APP" --server-key "$SRV" \
			--batch 100 -c 64 -d "$LOAD_D" --rate "$HALF" --visible --visible-timeout 60s
	fi
	loadrun serve-mixed-fixed --url "$INGEST" --key "$SDK" --api-url "$API" --app-id "$APP" --server-key "$SRV" \
		--batch 100 -c 64 -d "$LOAD_D" --rate "$VISIBLE_RATE" --visible --visible-timeout 60s
	# The server's peak resident memory over all its runs.
	awk '/VmHWM/ {print $2}' "/proc/${PIDS[0]}/status" >"$WORK/serve-rss-kb.txt" || true
	kill "${PIDS[0]}" && wait "${PIDS[0]}" 2>/dev/null || true
	PIDS=()
	grep -iE 'level=(warn|error)' "$WORK/serve.log" | head -20 >&2 || true

	log "unmogrowp-bench baseline"
	"$BENCH" baseline --addr 127.0.0.1:0 >"$WORK/baseline.log" 2>&1 &
	PIDS+=($!)
	BASE=http://$(addr_of "$WORK/baseline.log" on)
	loadrun baseline-batch --url "$BASE" --key ignored --mix events=100 --batch 100 -c 32 -d "$LOAD_D"
	loadrun baseline-single --url "$BASE" --key ignored --mix events=100 --batch 1 -c 64 -d "$LOAD_D"
	kill "${PIDS[0]}" && wait "${PIDS[0]}" 2>/dev/null || true
	PIDS=()
fi

echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$WORK/machine.txt"
mkdir -p "$(dirname "$OUT")"
go run ./cmd/unmogrowp-bench report --dir "$WORK" >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
log "wrote $OUT"
