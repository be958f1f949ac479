package metadata

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// TestExportDeliveries enqueues deliveries of two apps and checks that the export of one
// app's range holds exactly its deliveries in the range, oldest first and ties by id, and
// stops at the callback's error.
func TestExportDeliveries(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e engine) {
		db, _ := openTest(t, e)
		ctx := context.Background()
		base := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
		var ds []unmogrowp.Delivery
		for i := range 12 {
			app := "app-a"
			if i%4 == 3 {
				app = "app-b"
			}
			ds = append(ds, unmogrowp.Delivery{
				ID: fmt.Sprintf("d%02d", 11-i), PostbackID: "pb", AppID: app, ActivityKind: unmogrowp.TriggerInstall,
				URL: "https://n.example/p", Host: "n.example", Method: "GET",
				CreatedAt: base.Add(time.Duration(i/2) * time.Minute), // pairs share a time
			})
		}
		if err := db.Enqueue(ctx, ds); err != nil {
			t.Fatal(err)
		}
		var got []string
		err := db.ExportDeliveries(ctx, "app-a", base.Add(time.Minute), base.Add(5*time.Minute), func(d *unmogrowp.Delivery) error {
			got = append(got, d.ID)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// Minutes 1-4 are i = 2..9, of app-a: 2, 4, 5, 6, 8, 9; ids 11-i, by time then id.
		want := []string{"d09", "d06", "d07", "d05", "d02", "d03"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("exported %v, want %v", got, want)
		}
		stop := errors.New("stop")
		n := 0
		err = db.ExportDeliveries(ctx, "app-a", base, base.Add(time.Hour), func(*unmogrowp.Delivery) error { n++; return stop })
		if !errors.Is(err, stop) || n != 1 {
			t.Errorf("a callback that fails: %v after %d", err, n)
		}
	})
}
