package testenv

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// skips counts the tests Missing skipped in this test binary, by reason.
var skips struct {
	sync.Mutex
	count   map[string]int
	reasons []string // in the order first seen
}

func recordSkip(reason string) {
	skips.Lock()
	defer skips.Unlock()
	if skips.count == nil {
		skips.count = map[string]int{}
	}
	if skips.count[reason] == 0 {
		skips.reasons = append(skips.reasons, reason)
	}
	skips.count[reason]++
}

// Main is the TestMain of a package whose tests call Server or Missing: it runs the tests
// and exits with their status (Run).
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run runs the package's tests (m.Run) and returns their exit status, after reporting the
// tests that Missing skipped, one line per reason:
//
//	SKIPPED ./postgres: 12 tests: UNMOGROWP_TEST_POSTGRES_URL is not set (to enable: ...)
//
// The go command keeps the output of a package whose tests pass to itself in package list
// mode (`go test ./...` prints only "ok"), so when this binary runs under it on Linux the
// lines go to the go command's own standard error, if that is a terminal, a pipe or a file
// opened to append (not one opened by >: its end moves under the go command, whose next
// line would overwrite ours); otherwise to this process's standard error. A result `go test` took from its cache has no
// lines: the README's command runs with -count=1.
func Run(m *testing.M) int {
	code := m.Run()
	if lines := skipSummary(packageDir()); lines != "" {
		w, done := summaryOutput()
		io.WriteString(w, lines)
		done()
	}
	return code
}

// skipSummary is the report of Run for the package in dir, "" when nothing was skipped.
func skipSummary(dir string) string {
	skips.Lock()
	defer skips.Unlock()
	var b strings.Builder
	for _, r := range skips.reasons {
		n := skips.count[r]
		tests := "tests"
		if n == 1 {
			tests = "test"
		}
		fmt.Fprintf(&b, "SKIPPED %s: %d %s: %s\n", dir, n, tests, r)
	}
	return b.String()
}

// packageDir is the directory of the package under test (go test runs its binary there),
// relative to the module's root as in ./postgres, else as it is.
func packageDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for root := wd; ; {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			if rel, err := filepath.Rel(root, wd); err == nil {
				return "./" + filepath.ToSlash(rel)
			}
			return wd
		}
		parent := filepath.Dir(root)
		if parent == root {
			return wd
		}
		root = parent
	}
}

// summaryOutput returns where Run writes, and a function to call when done writing.
func summaryOutput() (io.Writer, func()) {
	ppid := strconv.Itoa(os.Getppid())
	if comm, err := os.ReadFile("/proc/" + ppid + "/comm"); err == nil && strings.TrimSpace(string(comm)) == "go" {
		path := "/proc/" + ppid + "/fd/2"
		if fi, err := os.Stat(path); err == nil && (fi.Mode()&(os.ModeCharDevice|os.ModeNamedPipe) != 0 ||
			fi.Mode().IsRegular() && appending("/proc/"+ppid+"/fdinfo/2")) {
			if f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0); err == nil {
				return f, func() { f.Close() }
			}
		}
	}
	return os.Stderr, func() {}
}

// appending reports whether the file descriptor described by fdinfo (/proc/<pid>/fdinfo/<fd>)
// was opened to append (a shell's >>): then every write goes to the end, the other
// process's as ours.
func appending(fdinfo string) bool {
	b, err := os.ReadFile(fdinfo)
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			flags, err := strconv.ParseInt(strings.TrimSpace(v), 8, 64)
			return err == nil && flags&int64(os.O_APPEND) != 0
		}
	}
	return false
}
