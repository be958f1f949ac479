package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSkipSummary runs the fixture package testdata/skipper (two tests without their
// PostgreSQL server, one without a browser, one that runs) with the go command, as the
// README's test command does: the package passes, and its skips are visible in the
// output of `go test` without -v, one line per reason, whether the go command's standard
// error is a pipe or a file opened to append. Under UNMOGROWP_REQUIRE_INTEGRATION=1 the
// package fails instead.
func TestSkipSummary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a test binary")
	}
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, PostgresEnv+"=") && !strings.HasPrefix(kv, RequireEnv+"=") {
			env = append(env, kv)
		}
	}
	const want = "SKIPPED ./internal/testenv/testdata/skipper: 2 tests: " + PostgresEnv + " is not set (to enable: apt-get install postgresql, then set " + PostgresEnv + ")\n" +
		"SKIPPED ./internal/testenv/testdata/skipper: 1 test: no browser\n"
	goTest := func(env []string, stderr *os.File) (string, error) {
		cmd := exec.Command("go", "test", "-count=1", "./testdata/skipper")
		cmd.Env = env
		if stderr == nil {
			out, err := cmd.CombinedOutput() // a pipe
			return string(out), err
		}
		cmd.Stdout, cmd.Stderr = stderr, stderr
		err := cmd.Run()
		out, _ := os.ReadFile(stderr.Name())
		return string(out), err
	}

	t.Run("Pipe", func(t *testing.T) {
		out, err := goTest(env, nil)
		if err != nil || !strings.Contains(out, want) || !strings.Contains(out, "ok  \tgithub.com/unmogrowp/unmogrowp/internal/testenv/testdata/skipper") {
			t.Fatalf("go test: %v; output:\n%s\nwant it to pass and to contain:\n%s", err, out, want)
		}
	})
	t.Run("AppendedFile", func(t *testing.T) {
		f, err := os.OpenFile(filepath.Join(t.TempDir(), "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		out, err := goTest(env, f)
		if err != nil || !strings.Contains(out, want) || !strings.Contains(out, "ok  \tgithub.com/unmogrowp/unmogrowp/internal/testenv/testdata/skipper") {
			t.Fatalf("go test: %v; output:\n%s\nwant it to pass and to contain:\n%s", err, out, want)
		}
	})
	t.Run("Required", func(t *testing.T) {
		out, err := goTest(append(env, RequireEnv+"=1"), nil)
		if err == nil || strings.Contains(out, "SKIPPED") || !strings.Contains(out, "FAIL") {
			t.Fatalf("go test with %s=1: %v; output:\n%s\nwant it to fail without skips", RequireEnv, err, out)
		}
	})
}
