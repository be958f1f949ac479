package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/unmogrowp/unmogrowp/internal/loadgen"
)

// runReport is `unmogrowp-bench report --dir DIR`: it writes docs/performance.md, to
// stdout, from what scripts/bench.sh (make bench) measured: the Go benchmarks' output, the
// load generator's JSON results, the machine and the command lines.
//
//	unmogrowp-bench report --dir /tmp/bench.XXXX > docs/performance.md
//
// The directory holds machine.txt ("key: value" lines, in order), go-bench.txt (the
// output of `go test -bench`), go-commands.txt (one command line a line), load/NN-NAME.json
// and load/NN-NAME.cmd (a loadgen result and its command line; NAME is serve-... or
// baseline-...), and optionally sustained.json and sustained.cmd (an `unmogrowp-bench
// sustained` result and its command line), serve-rss-kb.txt (the server's peak RSS in kB) and
// profile-top.txt (`go tool pprof -top` of the server).
func runReport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "the directory scripts/bench.sh filled (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("report: --dir is required: unmogrowp-bench report --dir DIR > docs/performance.md")
	}
	r, err := load(*dir)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := r.write(stdout); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// report is everything one make bench run measured.
type report struct {
	machine    [][2]string
	benches    []*bench
	goCommands []string
	loads      []*loadRun
	rssKB      float64 // the server's peak resident memory over its runs (VmHWM)
	sustained  *loadgen.SustainedResult
	sustCmd    string
	profile    string
}

// bench is one Go benchmark's results over its -count runs.
type bench struct {
	pkg, name string
	metrics   map[string][]float64 // unit -> value of each run
	units     []string             // in the order they were printed
}

// loadRun is one loadgen run.
type loadRun struct {
	name, command string
	res           loadgen.Result
}

// load reads the directory.
func load(dir string) (*report, error) {
	r := &report{}
	if b, err := os.ReadFile(filepath.Join(dir, "machine.txt")); err == nil {
		for line := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok {
				r.machine = append(r.machine, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
			}
		}
	}
	if f, err := os.Open(filepath.Join(dir, "go-bench.txt")); err == nil {
		r.benches = parseBench(f)
		f.Close()
	}
	if b, err := os.ReadFile(filepath.Join(dir, "go-commands.txt")); err == nil {
		for line := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
			if line != "" {
				r.goCommands = append(r.goCommands, line)
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "load", "*.json"))
	slices.Sort(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		lr := &loadRun{name: strings.TrimSuffix(filepath.Base(f), ".json")}
		if _, rest, ok := strings.Cut(lr.name, "-"); ok {
			lr.name = rest // drop the NN- that orders them
		}
		if err := json.Unmarshal(b, &lr.res); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if c, err := os.ReadFile(strings.TrimSuffix(f, ".json") + ".cmd"); err == nil {
			lr.command = strings.TrimSpace(string(c))
		}
		r.loads = append(r.loads, lr)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "sustained.json")); err == nil {
		r.sustained = &loadgen.SustainedResult{}
		if err := json.Unmarshal(b, r.sustained); err != nil || r.sustained.Serve == nil || r.sustained.Baseline == nil {
			return nil, fmt.Errorf("sustained.json: not a sustained result (%v)", err)
		}
		if c, err := os.ReadFile(filepath.Join(dir, "sustained.cmd")); err == nil {
			r.sustCmd = strings.TrimSpace(string(c))
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "serve-rss-kb.txt")); err == nil {
		r.rssKB, _ = strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "profile-top.txt")); err == nil {
		r.profile = strings.TrimSpace(string(b))
	}
	return r, nil
}

// parseBench reads `go test -bench` output: "pkg:" lines, then benchmark lines of a name,
// an iteration count and value-unit pairs.
func parseBench(rd io.Reader) []*bench {
	var out []*bench
	byKey := map[string]*bench{}
	pkg := ""
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(strings.TrimSpace(p), "github.com/unmogrowp/unmogrowp")
			pkg = strings.TrimPrefix(pkg, "/")
			if pkg == "" {
				pkg = "unmogrowp"
			}
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndex(name, "-"); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i] // the GOMAXPROCS suffix
			}
		}
		key := pkg + " " + name
		b := byKey[key]
		if b == nil {
			b = &bench{pkg: pkg, name: name, metrics: map[string][]float64{}}
			byKey[key] = b
			out = append(out, b)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			unit := f[i+1]
			if _, seen := b.metrics[unit]; !seen {
				b.units = append(b.units, unit)
			}
			b.metrics[unit] = append(b.metrics[unit], v)
		}
	}
	return out
}

// median returns the median of vs.
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(vs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// num formats v with thousands separators and sensible precision.
func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case math.Abs(v) >= 100 || v == math.Trunc(v):
		return group(strconv.FormatFloat(math.Round(v), 'f', 0, 64))
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func group(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// duration formats nanoseconds per operation.
func duration(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.2f s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.1f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

// rateUnit returns the benchmark's throughput unit: events/s when it has one, else the
// first other "/s" metric but MB/s.
func (b *bench) rateUnit() string {
	if _, ok := b.metrics["events/s"]; ok {
		return "events/s"
	}
	for _, u := range b.units {
		if strings.HasSuffix(u, "/s") && u != "MB/s" {
			return u
		}
	}
	return ""
}

func (r *report) write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	p("# Performance\n\n")
	p("Measured by `make bench` (scripts/bench.sh, which writes this file with `go run ./cmd/unmogrowp-bench report`):\n")
	p("first the sustained end-to-end rate against the baseline's (`unmogrowp-bench sustained`), then\n")
	p("the hot paths' Go benchmarks, then `unmogrowp-bench loadgen` against `unmogrowp serve` and against\n")
	p("`unmogrowp-bench baseline` (the seed's handler shape: encoding/json into maps, answer \"accepted\",\n")
	p("nothing durable) in the same run, on the machine below, the load generator sharing its cores.\n")
	p("Run `make bench` to measure again; the figures of one machine are not another's.\n")
	p("[performance-analysis.md](performance-analysis.md) explains what stands between these\n")
	p("figures and issue 7's, and what would move them.\n\n")

	p("## Machine\n\n| | |\n|---|---|\n")
	for _, kv := range r.machine {
		p("| %s | %s |\n", kv[0], strings.ReplaceAll(kv[1], "|", "\\|"))
	}
	p("\n")
	if load, cores := r.busy(); load > float64(cores) && cores > 0 {
		p("**The machine was busy**: a load average of %.1f on %d cores when the run started. Other\n", load, cores)
		p("processes took cores from the servers, the load generator and the benchmarks, so these\n")
		p("figures are lower than a quiet machine's; the ratios measured in the same run hold better.\n\n")
	}

	if r.sustained != nil {
		r.writeSustained(p)
	}
	if len(r.loads) > 0 {
		r.writeLoads(p)
	}
	if len(r.benches) > 0 {
		r.writeBenches(p)
	}
	if r.profile != "" {
		p("## Where the server's time goes\n\n")
		p("CPU profile of `unmogrowp serve` over 5 s of the batch run, by own time then by\n")
		p("cumulative time (`go tool pprof -top`, `-top -cum`; the load generator is another process):\n\n```\n%s\n```\n", r.profile)
	}
	return bw.Flush()
}

// busy returns the 1-minute load average at the start of the run and the cores, from
// machine.txt's "load average at the start" and "CPU ..., N cores" (0 when unknown).
func (r *report) busy() (load float64, cores int) {
	for _, kv := range r.machine {
		switch {
		case strings.HasPrefix(kv[0], "load average at the start"):
			if f := strings.Fields(kv[1]); len(f) > 0 {
				load, _ = strconv.ParseFloat(f[0], 64)
			}
		case kv[0] == "CPU":
			if _, after, ok := strings.Cut(kv[1], ", "); ok {
				cores, _ = strconv.Atoi(strings.Fields(after)[0])
			}
		}
	}
	return load, cores
}

// writeSustained writes the sustained end-to-end figure and its ratio to the baseline,
// which lead the report (issue 26).
func (r *report) writeSustained(p func(string, ...any)) {
	s := r.sustained
	p("## Sustained end to end\n\n")
	p("100-event batches flat out to a fresh `unmogrowp serve`, then until the API's stats count every\n")
	p("acknowledged event; then the same load to the baseline. Sustained: acknowledged events over\n")
	p("the time from the first request to all visible.\n\n")
	if s.VisibleSeconds < 0 {
		p("**Not all visible** within the run's --visible-timeout: %s events acknowledged.\n\n", group(num(float64(s.Acknowledged))))
	} else {
		p("**%s events/s sustained, %.2f× the baseline's %s events/s** in the same run.\n\n",
			group(num(s.SustainedPerSec)), s.Ratio, group(num(s.Baseline.EventsPerSec)))
	}
	p("| acknowledged | sending | burst events/s | all visible after | of which after the load | sustained events/s | baseline events/s | ratio | server CPU per million events | baseline CPU per million |\n")
	p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	p("| %s | %.1f s | %s | %.1f s | %.1f s | %s | %s | %.2f× | %.1f s | %.1f s |\n\n",
		group(num(float64(s.Acknowledged))), s.Serve.Seconds, group(num(s.Serve.EventsPerSec)), s.VisibleSeconds, s.DrainSeconds,
		group(num(s.SustainedPerSec)), group(num(s.Baseline.EventsPerSec)), s.Ratio, s.CPUSecondsPerMillion, s.BaselineCPUSecondsPerMillion)
	if r.sustCmd != "" {
		p("```sh\n%s\n```\n\n", r.sustCmd)
	}
}

func (r *report) find(name string) *loadRun {
	for _, l := range r.loads {
		if l.name == name {
			return l
		}
	}
	return nil
}

func (r *report) writeLoads(p func(string, ...any)) {
	p("## Load: `unmogrowp serve` and the baseline, side by side\n\n")
	p("Accepted events/s are the items the server acknowledged (events, touchpoints and clicks),\n")
	p("over the run. Latency is from send to answer when flat out, and from each request's due\n")
	p("time at a fixed rate (corrected for coordinated omission). Visible: from a marker install's\n")
	p("200 until the API shows its attribution; drained: how long after the end the last marker\n")
	p("was visible, and the events/s from the start to then (the pipeline end to end).\n\n")
	p("| run | c | batch | rate | events/s | req/s | errors | p50 | p99 | p99.9 | visible p50 / p99 | drained | end to end |\n")
	p("|---|---:|---:|---|---:|---:|---|---:|---:|---:|---:|---:|---:|\n")
	for _, l := range r.loads {
		x := l.res
		rate := "flat out"
		if x.Mode == "fixed-rate" {
			rate = num(x.TargetRate) + "/s"
		}
		errs := "0"
		if x.Errors > 0 || x.Unsent > 0 {
			var parts []string
			for _, code := range slices.Sorted(func(yield func(string) bool) {
				for k := range x.StatusCounts {
					if !yield(k) {
						return
					}
				}
			}) {
				if c, err := strconv.Atoi(code); err == nil && c >= 200 && c < 400 {
					continue
				}
				parts = append(parts, fmt.Sprintf("%s: %d", code, x.StatusCounts[code]))
			}
			if x.Unsent > 0 {
				parts = append(parts, fmt.Sprintf("%s unsent", group(strconv.FormatInt(x.Unsent, 10))))
			}
			errs = strings.Join(parts, ", ")
		}
		vis, drained, e2e := "–", "–", "–"
		if v := x.Visible; v != nil {
			if v.Seen > 0 {
				vis = fmt.Sprintf("%s / %s ms (%d)", num(v.P50Ms), num(v.P99Ms), v.Seen)
			}
			if v.DrainSeconds >= 0 {
				drained, e2e = fmt.Sprintf("%.1f s", v.DrainSeconds), num(v.PipelineEventsPerSec)
			} else {
				drained = "not in time"
			}
		}
		p("| %s | %d | %d | %s | **%s** | %s | %s | %s ms | %s ms | %s ms | %s | %s | %s |\n",
			l.name, x.Connections, x.BatchSize, rate, num(x.EventsPerSec), num(x.RequestsPerS), errs,
			num(x.LatencyP50Ms), num(x.LatencyP99Ms), num(x.LatencyP999Ms), vis, drained, e2e)
	}
	p("\n")
	// The ratios, measured in this run.
	var ratios []string
	for _, l := range r.loads {
		rest, ok := strings.CutPrefix(l.name, "serve-")
		if !ok {
			continue
		}
		if base := r.find("baseline-" + rest); base != nil && base.res.EventsPerSec > 0 {
			ratios = append(ratios, fmt.Sprintf("- %s: serve %s events/s, baseline %s events/s: **%.2f×** the baseline",
				rest, num(l.res.EventsPerSec), num(base.res.EventsPerSec), l.res.EventsPerSec/base.res.EventsPerSec))
		}
	}
	if len(ratios) > 0 {
		p("Ratios in this run:\n\n%s\n\n", strings.Join(ratios, "\n"))
	}
	r.writeTargets(p)
	p("Command lines:\n\n```sh\n")
	for _, l := range r.loads {
		p("%s\n", l.command)
	}
	p("```\n\n")
}

// writeTargets compares the run with issue 7's figures to reach.
func (r *report) writeTargets(p func(string, ...any)) {
	type row struct{ target, measured, met string }
	var rows []row
	yes := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "**no**"
	}
	if s, b := r.find("serve-batch"), r.find("baseline-batch"); s != nil {
		rows = append(rows, row{"durable batch ingest (100-event batches, 32 connections): at least 400,000 events/s",
			num(s.res.EventsPerSec) + " events/s", yes(s.res.EventsPerSec >= 400_000)})
		if b != nil && b.res.EventsPerSec > 0 {
			ratio := s.res.EventsPerSec / b.res.EventsPerSec
			rows = append(rows, row{"... and at least 3× the baseline in the same run", fmt.Sprintf("%.2f×", ratio), yes(ratio >= 3)})
		}
		if v := s.res.Visible; v != nil && v.DrainSeconds >= 0 {
			rows = append(rows, row{"pipeline (dedup, attribution, enrichment into DuckDB): at least 200,000 events/s",
				num(v.PipelineEventsPerSec) + " events/s end to end in the batch run", yes(v.PipelineEventsPerSec >= 200_000)})
		}
	}
	if s := r.find("serve-single"); s != nil {
		ok := s.res.EventsPerSec >= 50_000 && s.res.LatencyP99Ms < 20
		rows = append(rows, row{"single events (64 connections): at least 50,000 events/s, p99 under 20 ms",
			fmt.Sprintf("%s events/s, p99 %s ms", num(s.res.EventsPerSec), num(s.res.LatencyP99Ms)), yes(ok)})
	}
	for _, l := range r.loads {
		if !strings.HasPrefix(l.name, "serve-") || l.res.Mode != "fixed-rate" || l.res.Visible == nil {
			continue
		}
		v := l.res.Visible
		sustained := l.res.EventsPerSec >= 0.95*l.res.TargetRate
		rows = append(rows, row{fmt.Sprintf("p99 from 200 to visible in the API under 2 s at %s events/s (%s)", num(l.res.TargetRate), l.name),
			fmt.Sprintf("p99 %s ms over %d markers, %s events/s sent", num(v.P99Ms), v.Seen, num(l.res.EventsPerSec)),
			yes(v.Seen > 0 && v.P99Ms < 2000 && sustained)})
	}
	for _, b := range r.benches {
		if b.pkg != "inmem" || b.name != "Memory" || len(b.metrics["B/touchpoint"]) == 0 {
			continue
		}
		gib := median(b.metrics["B/touchpoint"]) * 10e6 / (1 << 30)
		rows = append(rows, row{"memory: the hot state holds 10 million touchpoints in under 2 GiB",
			fmt.Sprintf("%.2f GiB (%s B/touchpoint × 10M, inmem Memory)", gib, num(median(b.metrics["B/touchpoint"]))), yes(gib < 2)})
	}
	if r.rssKB > 0 {
		rows = append(rows, row{"memory: RSS under 1 GiB while ingesting at full speed",
			fmt.Sprintf("peak %s MiB over the serve runs", num(r.rssKB/1024)), yes(r.rssKB < 1<<20)})
	}
	if len(rows) == 0 {
		return
	}
	p("Against the figures to reach (issue 7, embedded mode, 2 cores shared with the load tool):\n\n")
	p("| figure to reach | measured | met |\n|---|---|---|\n")
	for _, x := range rows {
		p("| %s | %s | %s |\n", x.target, x.measured, x.met)
	}
	p("\n")
}

func (r *report) writeBenches(p func(string, ...any)) {
	p("## Go benchmarks of the hot paths\n\n")
	p("Median of the runs (`-count`); the throughput column is events/s where the benchmark\n")
	p("reports it, else its own unit. Run on the same machine as the load, one package at a time.\n\n")
	p("| package | benchmark | time/op | throughput | other metrics |\n|---|---|---:|---:|---|\n")
	for _, b := range r.benches {
		ru := b.rateUnit()
		rate := "–"
		if ru != "" {
			rate = num(median(b.metrics[ru])) + " " + ru
		}
		var other []string
		for _, u := range b.units {
			if u == "ns/op" || u == ru {
				continue
			}
			other = append(other, num(median(b.metrics[u]))+" "+u)
		}
		p("| %s | %s | %s | %s | %s |\n", b.pkg, b.name, duration(median(b.metrics["ns/op"])), rate, strings.Join(other, ", "))
	}
	p("\nCommand lines:\n\n```sh\n")
	for _, c := range r.goCommands {
		p("%s\n", c)
	}
	p("```\n\n")
}
