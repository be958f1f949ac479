package main

import (
	"bufio"
	"encoding/json"
	"io"
	"io/fs"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeProtocolErrorsAreJSON sends requests Go's HTTP server refuses by itself, over
// raw TCP, to both listeners of `serve`: every answer is JSON.
func TestServeProtocolErrorsAreJSON(t *testing.T) {
	t.Parallel()
	p := startServe(t, t.TempDir())
	for _, base := range []string{p.ingest, p.api} {
		addr := strings.TrimPrefix(base, "http://")
		for _, tc := range []struct {
			raw  string
			code int
		}{
			{"GARBAGE\r\n\r\n", 400},
			{"GET /health HTTP/1.1\r\n\r\n", 400},
			{"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 80<<10) + "\r\n\r\n", 431},
			{"POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
			{"GET /health HTTP/2.0\r\nHost: x\r\n\r\n", 505},
		} {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, tc.raw)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("%s %.30q: %v", addr, tc.raw, err)
			}
			body, _ := io.ReadAll(resp.Body)
			c.Close()
			var out map[string]string
			if resp.StatusCode != tc.code || resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &out) != nil || out["error"] == "" {
				t.Errorf("%s %.30q: %d %q %q, want %d with a JSON error", addr, tc.raw, resp.StatusCode, resp.Header.Get("Content-Type"), body, tc.code)
			}
		}
	}
}

// TestServeDataDirPrivate runs `serve` on a fresh data directory, stores an event, and
// checks that every directory and file it holds (the log, DuckDB, SQLite, dedup state) is
// readable by its owner alone.
func TestServeDataDirPrivate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	p := startServe(t, dir)
	code, _, err := post(p.ingest+"/v1/events", createApp(t, dir, "Private").SDKKey, []byte(`{"event_type":"install","device_id":"d1"}`))
	if err != nil || code != 200 {
		t.Fatalf("event: %d %v", code, err)
	}
	p.waitDrained(t)
	p.stop(t)
	n := 0
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		info, err := d.Info()
		if err != nil {
			t.Fatal(err)
		}
		n++
		if perm := info.Mode().Perm(); perm&0o077 != 0 || (d.IsDir() && perm != 0o700) {
			t.Errorf("%s has mode %v, want no access for group and others", path, perm)
		}
		return nil
	})
	if n < 5 {
		t.Errorf("%d entries in the data directory, want the log, DuckDB, SQLite and dedup state", n)
	}
}
