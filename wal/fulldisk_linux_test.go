package wal

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/unmogrowp/unmogrowp"
)

// mountTmpfs mounts a tmpfs of size (such as "256k") on a new directory and returns it. It
// skips the test where mounting is not allowed (not root).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("a full file system needs a tmpfs, which this user cannot mount: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, 0) })
	return dir
}

// TestFullDiskRecovers runs the log on a real file system that fills up (a small tmpfs):
// appends fail with EUNAVAILABLE and Health names the full disk; once space is freed the
// log takes appends again without a reopen, and the records it holds, before and after a
// reopen, are exactly the acknowledged ones. Runs as root only.
func TestFullDiskRecovers(t *testing.T) {
	ctx := context.Background()
	fs := mountTmpfs(t, "512k")
	filler := filepath.Join(fs, "filler")
	if err := os.WriteFile(filler, make([]byte, 384<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(fs, "wal")
	w := openWAL(t, dir, Options{SegmentSize: 32 << 10})
	var acked [][]byte
	var err error
	for b := 0; err == nil; b++ {
		vals := values(strings.Repeat("v", 900)+string(rune('a'+b%26)), 20)
		if err = w.Append(ctx, "app", vals); err == nil {
			acked = append(acked, vals...)
		}
		if b > 1000 {
			t.Fatal("the tmpfs never filled")
		}
	}
	if unmogrowp.ErrorCode(err) != unmogrowp.EUNAVAILABLE || len(acked) == 0 {
		t.Fatalf("append on a full disk: %v after %d acknowledged records", err, len(acked))
	}
	if herr := w.Health(ctx); !strings.Contains(unmogrowp.ErrorMessage(herr), "no space left on device") {
		t.Fatalf("Health on a full disk: %v", herr)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	n := len(acked)
	checkWritesAgain(t, w, dir, acked, 0)
	t.Logf("%d records acknowledged before the disk filled", n)
}
