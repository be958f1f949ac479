package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// eventBatch is the body of a batch of n events with ids <prefix>-<i>, and those ids.
func eventBatch(prefix string, n int) ([]byte, []string) {
	var sb strings.Builder
	ids := make([]string, n)
	sb.WriteString(`{"events":[`)
	for i := range ids {
		if i > 0 {
			sb.WriteByte(',')
		}
		ids[i] = fmt.Sprintf("%s-%d", prefix, i)
		fmt.Fprintf(&sb, `{"event_type":"session","device_id":"dev-%d","event_id":"%s","event_data":{"pad":"%s"}}`, i, ids[i], strings.Repeat("p", 100))
	}
	sb.WriteString(`]}`)
	return []byte(sb.String()), ids
}

// health returns the status code and body of url's /health.
func health(t *testing.T, base string) (int, string) {
	t.Helper()
	resp, err := http.Get(base + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestFullLogDiskRecovers runs serve with its write-ahead log on a file system that fills
// up (a 1 MiB tmpfs mounted on the data directory's wal/, so that only the log is short of
// space). Once the log cannot write, batches are answered 503, /health answers 503
// degraded naming the log and the full disk on both listeners, and unmogrowp_log_writable
// is 0; once space is freed, all of it turns back without a restart. After a kill -9 and a
// restart, every event answered 200 is stored once and none of a batch answered 503 is.
// Runs as root only (mount).
func TestFullLogDiskRecovers(t *testing.T) {
	dir, k, walDir := logDiskTest(t, "Full")
	if err := syscall.Mount("tmpfs", walDir, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("a full disk needs a tmpfs, which this user cannot mount: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(walDir, 0) })
	filler := filepath.Join(walDir, "filler")
	if err := os.WriteFile(filler, make([]byte, 768<<10), 0o600); err != nil {
		t.Fatal(err)
	}

	p := startServe(t, dir)
	acked, refused := map[string]bool{}, map[string]bool{}
	b := 0
	send := func() int {
		t.Helper()
		body, ids := eventBatch(fmt.Sprintf("b%d", b), 50)
		b++
		code, resp, err := post(p.ingest+"/v1/events/batch", k.SDKKey, body)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			switch code {
			case 200:
				acked[id] = true
			case 503:
				refused[id] = true
			default:
				t.Fatalf("batch answered %d %s", code, resp)
			}
		}
		return code
	}
	for send() == 200 {
		if b > 1000 {
			t.Fatal("the log's tmpfs never filled")
		}
	}
	t.Logf("%d batches answered 200 before the disk filled", b-1)
	for _, base := range []string{p.ingest, p.api} {
		code, body := health(t, base)
		if code != 503 || !strings.Contains(body, `"status":"degraded"`) || !strings.Contains(body, `"reason":"log: `) || !strings.Contains(body, "no space left on device") {
			t.Fatalf("%s/health on a full disk: %d %s", base, code, body)
		}
	}
	if v := p.metric(t, "unmogrowp_log_writable"); v != 0 {
		t.Fatalf("unmogrowp_log_writable = %v on a full disk", v)
	}
	for range 5 {
		if code := send(); code != 503 {
			t.Fatalf("batch on a full disk answered %d", code)
		}
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body := health(t, p.ingest)
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/health still %d 15 s after space was freed: %s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, body := health(t, p.api); code != 200 {
		t.Fatalf("API /health after space was freed: %d %s", code, body)
	}
	if v := p.metric(t, "unmogrowp_log_writable"); v != 1 {
		t.Fatalf("unmogrowp_log_writable = %v after space was freed", v)
	}
	if v := p.metric(t, "unmogrowp_log_write_errors_total"); v == 0 {
		t.Fatal("unmogrowp_log_write_errors_total = 0 after a full disk")
	}
	for range 5 {
		if code := send(); code != 200 {
			t.Fatalf("batch after space was freed answered %d", code)
		}
	}

	p.kill9(t)
	p = startServe(t, dir)
	p.waitDrained(t)
	p.stop(t)
	stored := storedIDs(t, dir)
	var lost, leaked int
	for id := range acked {
		if stored[id] != 1 {
			lost++
		}
	}
	for id := range refused {
		if stored[id] != 0 {
			leaked++
		}
	}
	t.Logf("%d events answered 200, %d answered 503; stored %d", len(acked), len(refused), len(stored))
	if lost > 0 || leaked > 0 || len(stored) != len(acked) {
		t.Fatalf("%d acknowledged events not stored exactly once, %d events answered 503 stored", lost, leaked)
	}
}

// TestDamagedLogSegmentLosesNothingSilently sends events, stops serve, and then, for bytes
// at random points across the log's newest segment (one early, one late, one in its last
// record), flips it in a copy of the data directory that has only the app store and the
// log (no analytics store, no commit file: the pipeline replays the whole log). Every
// acknowledged event must be stored but the one whose record holds the flipped byte, and
// that loss must be loud: an error in the log naming the segment, the damaged file kept
// as <segment>.damaged, and unmogrowp_log_damaged_segments at 1.
func TestDamagedLogSegmentLosesNothingSilently(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test: runs without -short")
	}
	src := t.TempDir()
	k := createApp(t, src, "Damaged")
	p := startServe(t, src)
	acked := map[string]bool{}
	for b := range 40 {
		body, ids := eventBatch(fmt.Sprintf("b%d", b), 50)
		if code, resp, err := post(p.ingest+"/v1/events/batch", k.SDKKey, body); err != nil || code != 200 {
			t.Fatalf("batch %d: %d %s %v", b, code, resp, err)
		}
		for _, id := range ids {
			acked[id] = true
		}
	}
	p.stop(t)
	segs, err := filepath.Glob(filepath.Join(src, "wal", "*.wal"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("segments: %v %v", segs, err)
	}
	newest := filepath.Base(segs[len(segs)-1])
	data, err := os.ReadFile(segs[len(segs)-1])
	if err != nil {
		t.Fatal(err)
	}
	n := int64(len(data))
	rng := rand.New(rand.NewPCG(15, 3))
	for _, tt := range []struct {
		name string
		at   int64
	}{
		{"Early", rng.Int64N(n / 2)},
		{"Late", n/2 + rng.Int64N(n/2-1000)},
		{"LastRecord", n - 1 - rng.Int64N(100)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, name := range []string{"metadata.db", "wal"} {
				copyTree(t, filepath.Join(src, name), filepath.Join(dir, name))
			}
			os.Remove(filepath.Join(dir, "wal", "commit"))
			path := filepath.Join(dir, "wal", newest)
			damaged := append([]byte(nil), data...)
			damaged[tt.at] ^= 0x5a
			if err := os.WriteFile(path, damaged, 0o600); err != nil {
				t.Fatal(err)
			}
			p := startServe(t, dir)
			p.waitDrained(t)
			segsAside := p.metric(t, "unmogrowp_log_damaged_segments")
			p.stop(t)
			stored := storedIDs(t, dir)
			missing := 0
			for id := range acked {
				if stored[id] != 1 {
					missing++
				}
			}
			t.Logf("flipped byte %d of %d: %d of %d acknowledged events missing", tt.at, n, missing, len(acked))
			if missing > 1 || len(stored) > len(acked) {
				t.Fatalf("%d acknowledged events missing (one record was damaged), %d distinct stored of %d", missing, len(stored), len(acked))
			}
			if missing == 1 {
				kept, err := os.ReadFile(path + ".damaged")
				if err != nil || string(kept) != string(damaged) {
					t.Fatalf("the damaged segment was not kept aside as it was: %v", err)
				}
				if segsAside != 1 || !strings.Contains(p.log(), `"level":"ERROR"`) || !strings.Contains(p.log(), newest) {
					t.Fatalf("a lost record went unreported: unmogrowp_log_damaged_segments %v, log:\n%s", segsAside, p.log())
				}
			}
		})
	}
}

// copyTree copies the file or directory src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(to, 0o700)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// logDiskTest begins a fault test of the log's disk (not with -short): a data directory
// with an app named name, and its wal/ directory made, for the test to mount a disk on
// before serve starts.
func logDiskTest(t *testing.T, name string) (dir string, k appKeys, walDir string) {
	t.Helper()
	if testing.Short() {
		t.Skip("fault test: runs without -short")
	}
	dir = t.TempDir()
	k = createApp(t, dir, name)
	walDir = filepath.Join(dir, "wal")
	if err := os.MkdirAll(walDir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir, k, walDir
}
