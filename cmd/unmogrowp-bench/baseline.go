package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"
)

// runBaseline is `unmogrowp-bench baseline`: the seed's ingestion handler shape on a plain
// net/http server, for comparison in the same run as `unmogrowp serve` (make bench).
// POST /v1/events and /v1/events/batch decode the body with encoding/json into maps and
// answer {"status":"accepted"}: no key, no validation, nothing durable.
func runBaseline(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("baseline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", ":8090", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	srv := &http.Server{Handler: baselineHandler(), ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(stderr, "baseline: the seed's handler shape (encoding/json into maps, nothing durable) on %s\n", ln.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// baselineHandler serves the seed's handler shape.
func baselineHandler() http.Handler {
	accepted := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"status": "accepted"})
	}
	invalid := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"error": "Invalid JSON"})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/events", func(w http.ResponseWriter, r *http.Request) {
		var event map[string]any
		if err := json.NewDecoder(r.Body).Decode(&event); err != nil {
			invalid(w)
			return
		}
		accepted(w)
	})
	mux.HandleFunc("POST /v1/events/batch", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			invalid(w)
			return
		}
		var events []map[string]any
		if b := bytes.TrimSpace(body); len(b) > 0 && b[0] == '[' {
			err = json.Unmarshal(b, &events)
		} else {
			var batch struct {
				Events []map[string]any `json:"events"`
			}
			err = json.Unmarshal(b, &batch)
			events = batch.Events
		}
		if err != nil {
			invalid(w)
			return
		}
		accepted(w)
	})
	return mux
}

// startBaseline runs `unmogrowp-bench baseline` on a free loopback port as a process of its
// own (as make bench runs it, so that it does not share the load generator's runtime) and
// returns its URL, its process id and a function that stops it.
func startBaseline(ctx context.Context) (string, int, func(), error) {
	exe, err := os.Executable()
	if err != nil {
		return "", 0, nil, err
	}
	cmd := exec.CommandContext(ctx, exe, "baseline", "--addr", "127.0.0.1:0")
	out, err := cmd.StderrPipe()
	if err != nil {
		return "", 0, nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", 0, nil, err
	}
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if _, addr, ok := strings.Cut(sc.Text(), " on "); ok {
			go io.Copy(io.Discard, out)
			return "http://" + strings.TrimSpace(addr), cmd.Process.Pid, stop, nil
		}
	}
	stop()
	return "", 0, nil, errors.New("the baseline did not say its address")
}
