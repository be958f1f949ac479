package postgres

import (
	"testing"

	"github.com/unmogrowp/unmogrowp/metadatatest"
)

// BenchmarkAppByKey is the cost of the ingestion app cache's miss: one round trip to the
// server with a prepared statement.
func BenchmarkAppByKey(b *testing.B) {
	db, _ := openTest(b)
	metadatatest.BenchAppByKey(b, db, func() error {
		_, err := db.pool.Exec(b.Context(), `ANALYZE apps`)
		return err
	})
}

// BenchmarkLink is the cost of a click or an impression to the store.
func BenchmarkLink(b *testing.B) {
	db, _ := openTest(b)
	metadatatest.BenchLink(b, db)
}
