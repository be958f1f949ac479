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
