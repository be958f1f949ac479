package metadata

import (
	"context"
	"fmt"
	"testing"
	"time"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// TestEnqueueChunks enqueues more deliveries than one statement takes, twice over with
// ids already there in each chunk: every delivery is stored once, none changed by the
// second call.
func TestEnqueueChunks(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		db, _ := openTest(t, e)
		at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		make := func(from, to int, url string) []unmogrowp.Delivery {
			var ds []unmogrowp.Delivery
			for i := from; i < to; i++ {
				ds = append(ds, unmogrowp.Delivery{ID: fmt.Sprintf("d%05d", i), PostbackID: "pb", AppID: "app",
					ActivityKind: unmogrowp.TriggerInstall, URL: url, Host: "h.example", Method: "GET",
					CreatedAt: at.Add(time.Duration(i) * time.Millisecond), NextAttemptAt: at})
			}
			return ds
		}
		n := 2*enqueueChunk + 7
		if err := db.Enqueue(ctx, make(0, n, "https://h.example/first")); err != nil {
			t.Fatal(err)
		}
		if err := db.Enqueue(ctx, make(n/2, n+enqueueChunk, "https://h.example/second")); err != nil {
			t.Fatal(err)
		}
		ds, _, err := db.List(ctx, unmogrowp.DeliveryFilter{AppID: "app", PostbackID: "pb"})
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != n+enqueueChunk {
			t.Fatalf("%d deliveries stored, want %d", len(ds), n+enqueueChunk)
		}
		for _, d := range ds {
			var i int
			fmt.Sscanf(d.ID, "d%05d", &i)
			if want := map[bool]string{true: "https://h.example/first", false: "https://h.example/second"}[i < n]; d.URL != want {
				t.Fatalf("%s has URL %s, want %s (the first enqueue's)", d.ID, d.URL, want)
			}
		}
	})
}

// TestEnqueueStatements enqueues calls of many sizes, some with an id twice, the second
// time last: each delivery is stored once, and the INSERTs prepared for all those sizes
// are a handful (one per power of two and the full chunk), not one per size.
func TestEnqueueStatements(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		db, _ := openTest(t, e)
		at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		k, want := 0, 0
		for _, n := range []int{1, 2, 3, 7, 100, 200, 255, 511, enqueueChunk, enqueueChunk + 1, 700} {
			var ds []unmogrowp.Delivery
			for range n {
				ds = append(ds, unmogrowp.Delivery{ID: fmt.Sprintf("d%06d", k), PostbackID: "pb", AppID: "app",
					ActivityKind: unmogrowp.TriggerInstall, URL: "https://h.example/", Host: "h.example", Method: "GET",
					CreatedAt: at, NextAttemptAt: at})
				k++
			}
			ds = append(ds, ds[0]) // already in this call: skipped
			if err := db.Enqueue(ctx, ds); err != nil {
				t.Fatalf("enqueue %d: %v", n, err)
			}
			want += n
		}
		ds, _, err := db.List(ctx, unmogrowp.DeliveryFilter{AppID: "app", PostbackID: "pb"})
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != want {
			t.Fatalf("%d deliveries stored, want %d", len(ds), want)
		}
		db.enqueueMu.Lock()
		prepared := len(db.enqueue)
		db.enqueueMu.Unlock()
		if prepared > 10 {
			t.Fatalf("%d INSERTs prepared for 11 sizes, want at most 10 (powers of two and the chunk)", prepared)
		}
		for _, n := range []int{0, 1, 200, 700, 3*enqueueChunk + 5} {
			sum := 0
			for _, size := range chunkSizes(n, enqueueChunk) {
				if size&(size-1) != 0 || size > enqueueChunk {
					t.Fatalf("chunkSizes(%d) has %d, not a power of two up to %d", n, size, enqueueChunk)
				}
				sum += size
			}
			if sum != n {
				t.Fatalf("chunkSizes(%d) adds up to %d", n, sum)
			}
		}
	})
}

// TestOutboxSyncRestored claims and records attempts, which commit without waiting for
// the disk (SQLite's synchronous=NORMAL, PostgreSQL's synchronous_commit=off): afterwards
// the write connection they ran on, the pool's only one here, is back to its synced
// setting, so the store's other writes, Enqueue's among them, still wait for the disk.
func TestOutboxSyncRestored(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		db, _ := openTest(t, e)
		db.write.SetMaxOpenConns(1) // the connection checked is the one written through
		at := time.Now()
		var ds []unmogrowp.Delivery
		for i := range 3 {
			ds = append(ds, unmogrowp.Delivery{ID: fmt.Sprintf("d%d", i), PostbackID: "pb", AppID: "app",
				ActivityKind: unmogrowp.TriggerInstall, URL: "https://h.example/", Host: "h.example", Method: "GET",
				CreatedAt: at, NextAttemptAt: at})
		}
		if err := db.Enqueue(ctx, ds); err != nil {
			t.Fatal(err)
		}
		claimed, err := db.Claim(ctx, unmogrowp.ClaimRequest{Now: at, Limit: 10, Lease: time.Minute})
		if err != nil || len(claimed) != 3 {
			t.Fatalf("claim: %d, %v", len(claimed), err)
		}
		for _, d := range claimed {
			if err := db.Complete(ctx, unmogrowp.Attempt{ID: d.ID, LeaseToken: d.LeaseToken, At: at,
				Status: unmogrowp.DeliveryDelivered, HTTPStatus: 204}); err != nil {
				t.Fatal(err)
			}
		}
		q, want := `PRAGMA synchronous`, "2" // FULL
		if e.name == "postgres" {
			q, want = `SHOW synchronous_commit`, "on"
		}
		var got string
		if err := db.write.QueryRowContext(ctx, q).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("%s is %s after the outbox's writes, want %s", q, got, want)
		}
		if n := db.write.Stats().OpenConnections; n != 1 {
			t.Fatalf("%d write connections open, want 1", n)
		}
	})
}
