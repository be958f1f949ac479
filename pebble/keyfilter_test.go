package pebble

import (
	"encoding/binary"
	"testing"

	"github.com/zeebo/xxh3"
)

// testKey is the dedup key of the n-th test id, made as Dedup.key makes keys.
func testKey(n uint64) []byte {
	var in [8]byte
	binary.LittleEndian.PutUint64(in[:], n)
	h := xxh3.Hash128(in[:])
	k := make([]byte, keyLen)
	binary.BigEndian.PutUint64(k[:8], h.Hi)
	binary.BigEndian.PutUint64(k[8:], h.Lo)
	return k
}

// TestKeyFilterFalsePositives fills a filter to the size it was made for and checks that
// it holds every key added and answers "may hold" for about 1% of keys never added.
func TestKeyFilterFalsePositives(t *testing.T) {
	f := newKeyFilter(minFilterKeys / filterGrowth) // sized for minFilterKeys
	for n := range uint64(f.capacity) {
		f.add(testKey(n))
	}
	if f.full() {
		t.Fatalf("full at its capacity of %d keys", f.capacity)
	}
	for n := range uint64(f.capacity) {
		if !f.mayContain(testKey(n)) {
			t.Fatalf("key %d added but not held", n)
		}
	}
	const probes = 1 << 20
	fp := 0
	for n := range uint64(probes) {
		if f.mayContain(testKey(1<<40 + n)) {
			fp++
		}
	}
	if rate := float64(fp) / probes; rate > 0.015 {
		t.Errorf("false positives %.4f of keys never added, want about 0.01", rate)
	} else {
		t.Logf("false positives: %.4f", rate)
	}
	f.add(testKey(1 << 50))
	if !f.full() {
		t.Errorf("not full past its capacity of %d keys", f.capacity)
	}
}
