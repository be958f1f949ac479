// Command unmogrowp-bench holds the tools that measure UnMoGrowP, kept out of the product
// binary: `loadgen` drives a running server with realistic traffic, `sustained` measures
// a server's rate from first byte to visible against the baseline's, `baseline` serves the
// seed's handler shape to compare with, and `report` writes docs/performance.md from what
// scripts/bench.sh (make bench) measured.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/unmogrowp/unmogrowp/internal/loadgen"
)

const usage = `usage: unmogrowp-bench <command> [flags]

commands:
  loadgen    drive a running server with realistic traffic and report throughput
  sustained  flat-out batches to a server until all are visible, then to the baseline: the sustained rate and its ratio
  baseline   serve the seed's handler shape (decode into maps, nothing durable) to compare with
  report     write docs/performance.md from the directory scripts/bench.sh filled

Run 'unmogrowp-bench <command> -h' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) { // help asked for exits 0
		fmt.Fprintln(os.Stderr, "unmogrowp-bench:", err)
		os.Exit(2)
	}
}

// run dispatches to the subcommand named by args[0].
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "loadgen":
		return loadgen.Command(ctx, args[1:], stdout, stderr)
	case "sustained":
		return loadgen.SustainedCommand(ctx, args[1:], stdout, stderr, startBaseline)
	case "baseline":
		return runBaseline(ctx, args[1:], stderr)
	case "report":
		return runReport(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
