// Command unmogrowp is the UnMoGrowP binary: `unmogrowp serve` runs ingestion, the
// pipeline, the API and the dashboard in one process on embedded storage; other
// subcommands run the split deployment's services and manage apps and links. The tools
// that measure it are cmd/unmogrowp-bench's.
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
	_ "time/tzdata" // the time zone database in the binary: apps' zones and the exports' timezone= never depend on the host's
)

const usage = `usage: unmogrowp <command> [flags]

commands:
  serve         run ingestion (:8080), the pipeline and the API (:3001) in one process
  ingestion     run the ingestion listener alone, appending to Kafka (split deployment)
  consumer      run the pipeline alone: Kafka to ClickHouse and Redis (split deployment)
  api           run the API listener and dashboard alone (split deployment)
  apps create   create an app owned by a registered user and print its id and keys
  apps list     list apps and their owners
  links create  create a tracking link and print its click and impression URLs
  links list    list an app's tracking links
  iplists import  load a cloud provider's address ranges for the datacenter_ip rule
  iplists list    list the loaded address ranges
  users reset-password  print a one-time link to set a user's password, or set it from stdin
  fx import     load exchange rates (the ECB's eurofxref-hist.csv, or JSON lines)
  version       print the version

Run 'unmogrowp <command> -h' for a command's flags.
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	restrictUmask()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(exitCode(run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr), os.Stderr))
}

// errUsage is returned for a command line that is not valid after its usage was printed:
// exit status 2, nothing more printed.
var errUsage = errors.New("usage")

// exitCode is the exit status of run's error: 0 for none or for help that was asked for
// (-h, --help: flag.ErrHelp, with the usage already printed), 2 otherwise, after printing
// the error unless it is errUsage.
func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case !errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "unmogrowp:", err)
	}
	return 2
}

// isHelp reports whether arg asks for a command's help.
func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

// run dispatches to the subcommand named by args[0].
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], getenv, stderr)
	case "ingestion":
		return runRoles(ctx, "ingestion", roleIngestion, args[1:], getenv, stderr)
	case "consumer":
		return runRoles(ctx, "consumer", roleConsumer, args[1:], getenv, stderr)
	case "api":
		return runRoles(ctx, "api", roleAPI, args[1:], getenv, stderr)
	case "apps":
		return runApps(ctx, args[1:], getenv, stdout, stderr)
	case "links":
		return runLinks(ctx, args[1:], getenv, stdout, stderr)
	case "iplists":
		return runIPLists(ctx, args[1:], getenv, stdout, stderr)
	case "users":
		return runUsers(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "fx":
		return runFX(ctx, args[1:], getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "unmogrowp", version)
		return nil
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
