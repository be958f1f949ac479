package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp/wal"
)

// TestStalledLogDiskRecovers runs serve with its write-ahead log on a disk that stalls:
// an ext4 image loop-mounted on the data directory's wal/ and frozen with fsfreeze, so
// that every write and fdatasync there blocks until it is thawed, as on a disk or network
// volume that stops answering. While it is frozen, batches sent by three clients are
// answered within the log's stall timeout (wal.DefaultStallTimeout) and a second, with
// 200 or 503 and Retry-After, never left hanging; /health of both listeners answers 503
// degraded naming the log within its check timeout; unmogrowp_log_writable is 0. Once
// thawed, all of it turns back without a restart, and after a kill -9 and a restart every
// event answered 200 is stored once and none twice (a batch answered 503 may be stored:
// its write was under way). Runs as root only (mount, fsfreeze).
func TestStalledLogDiskRecovers(t *testing.T) {
	dir, k, walDir := logDiskTest(t, "Stalled")
	img := filepath.Join(t.TempDir(), "wal.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 64<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", img).CombinedOutput(); err != nil {
		t.Skipf("a stalling disk needs mkfs.ext4: %v %s", err, out)
	}
	if out, err := exec.Command("mount", "-o", "loop", img, walDir).CombinedOutput(); err != nil {
		t.Skipf("a stalling disk needs a loop mount, which this user cannot make: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", walDir).Run() })

	p := startServe(t, dir)
	// Registered after serve's own cleanup, so run before it: a process blocked on a
	// frozen file system cannot be killed until it is thawed.
	thaw := func() { exec.Command("fsfreeze", "--unfreeze", walDir).Run() }
	t.Cleanup(thaw)

	var mu sync.Mutex
	acked, refused := map[string]bool{}, map[string]bool{}
	var slow, bad []string
	codes := map[int]int{}
	limit := wal.DefaultStallTimeout + time.Second
	client := &http.Client{Timeout: 30 * time.Second}
	b := 0
	send := func() int {
		mu.Lock()
		body, ids := eventBatch(fmt.Sprintf("b%d", b), 20)
		b++
		mu.Unlock()
		req, _ := http.NewRequest("POST", p.ingest+"/v1/events/batch", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-App-Key", k.SDKKey)
		start := time.Now()
		resp, err := client.Do(req)
		took := time.Since(start)
		mu.Lock()
		defer mu.Unlock()
		if took > limit {
			slow = append(slow, fmt.Sprintf("answered after %s (%v)", took.Round(time.Millisecond), err))
		}
		if err != nil {
			bad = append(bad, err.Error())
			return 0
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		codes[resp.StatusCode]++
		switch {
		case resp.StatusCode == 200:
			for _, id := range ids {
				acked[id] = true
			}
		case resp.StatusCode == 503 && resp.Header.Get("Retry-After") != "":
			for _, id := range ids {
				refused[id] = true
			}
		default:
			bad = append(bad, fmt.Sprintf("%d (Retry-After %q) %s", resp.StatusCode, resp.Header.Get("Retry-After"), answer))
		}
		return resp.StatusCode
	}
	for range 5 {
		if code := send(); code != 200 {
			t.Fatalf("batch before the stall answered %d", code)
		}
	}

	if out, err := exec.Command("fsfreeze", "--freeze", walDir).CombinedOutput(); err != nil {
		t.Skipf("fsfreeze: %v %s", err, out)
	}
	frozen := time.Now()
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(frozen) < wal.DefaultStallTimeout+3*time.Second {
				send()
				time.Sleep(100 * time.Millisecond)
			}
		}()
	}
	for _, base := range []string{p.ingest, p.api} {
		for {
			start := time.Now()
			code, reason, err := healthOf(base)
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("%s/health took %s while the log's disk stalled", base, took.Round(time.Millisecond))
			}
			if code == 503 && strings.HasPrefix(reason, "degraded: log: ") && strings.Contains(reason, "has not finished a write") {
				t.Logf("%s/health %s after the freeze: %s", base, time.Since(frozen).Round(100*time.Millisecond), reason)
				break
			}
			if time.Since(frozen) > wal.DefaultStallTimeout+5*time.Second {
				t.Fatalf("%s/health while the log's disk stalls: %d %s %v, want 503 degraded naming the log", base, code, reason, err)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	if v := p.metric(t, "unmogrowp_log_writable"); v != 0 {
		t.Errorf("unmogrowp_log_writable = %v while the log's disk stalls", v)
	}
	wg.Wait()
	thaw()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, reason, _ := healthOf(p.ingest)
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/health still %d 15 s after the disk was thawed: %s", code, reason)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for range 5 {
		if code := send(); code != 200 {
			t.Fatalf("batch after the disk was thawed answered %d", code)
		}
	}
	t.Logf("answers: %v", codes)
	if len(slow) > 0 || len(bad) > 0 || codes[503] == 0 {
		t.Errorf("%d answers after %s (%q), %d wrong answers (%q), %d answered 503 (want some)", len(slow), limit, first(slow), len(bad), first(bad), codes[503])
	}

	p.kill9(t)
	p = startServe(t, dir)
	p.waitDrained(t)
	p.stop(t)
	stored := storedIDs(t, dir)
	lost, twice, refusedStored := 0, 0, 0
	for id := range acked {
		if stored[id] != 1 {
			lost++
		}
	}
	for id, n := range stored {
		if n > 1 {
			twice++
		}
		if refused[id] {
			refusedStored++
		}
	}
	t.Logf("%d events answered 200, %d answered 503 (%d of those stored: their write was under way); stored %d", len(acked), len(refused), refusedStored, len(stored))
	if lost > 0 || twice > 0 {
		t.Fatalf("%d acknowledged events not stored exactly once, %d stored twice", lost, twice)
	}
}
