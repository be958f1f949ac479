package metadata

import (
	"testing"
	"time"

	unmogrowp "github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/metadatatest"
)

// benchEachEngine runs f in a sub-benchmark for each engine that the benchmark can have,
// on a store of its own.
func benchEachEngine(b *testing.B, f func(b *testing.B, db *DB)) {
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			e.require(b)
			db, _ := openTest(b, e)
			f(b, db)
		})
	}
}

// BenchmarkAppByKey is the cost of the ingestion app cache's miss: in PostgreSQL, one round
// trip to the server with a prepared statement.
func BenchmarkAppByKey(b *testing.B) {
	benchEachEngine(b, func(b *testing.B, db *DB) {
		metadatatest.BenchAppByKey(b, db, func() error {
			_, err := db.write.ExecContext(b.Context(), `ANALYZE apps`) // the planner's statistics
			return err
		})
	})
}

// BenchmarkLink is the cost of a click or an impression to the store.
func BenchmarkLink(b *testing.B) {
	benchEachEngine(b, func(b *testing.B, db *DB) {
		metadatatest.BenchLink(b, db)
	})
}

// BenchmarkEnqueue is the cost of the outbox to the pipeline: one Enqueue of 700
// deliveries (a batch of 5000 events of which a seventh are installs, one postback each),
// shaped as the pipeline makes them. It reports deliveries/s.
func BenchmarkEnqueue(b *testing.B) {
	benchEachEngine(b, func(b *testing.B, db *DB) {
		const n = 700
		at := time.Now()
		ds := make([]unmogrowp.Delivery, n)
		k := 0
		for b.Loop() {
			for i := range ds {
				k++
				id := unmogrowp.DeliveryID("pb_benchbenchbenchbe", 0, int64(k), at.Add(time.Duration(k)*time.Microsecond), unmogrowp.TriggerInstall, "")
				ds[i] = unmogrowp.Delivery{ID: id, PostbackID: "pb_benchbenchbenchbe", AppID: "app_benchbenchbenchb",
					ActivityKind: unmogrowp.TriggerInstall, Method: "GET", Host: "postbacks.example",
					URL:       "https://postbacks.example/install?gaid=38400000-8cf0-11bd-b23e-10b96e40000d&c=spring_sale_07&ts=1761056400&id=" + id,
					CreatedAt: at, NextAttemptAt: at}
			}
			if err := db.Enqueue(b.Context(), ds); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "deliveries/s")
	})
}
