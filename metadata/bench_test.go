package metadata

import (
	"testing"

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
