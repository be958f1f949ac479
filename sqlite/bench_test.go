package sqlite

import (
	"testing"

	"github.com/unmogrowp/unmogrowp/metadatatest"
)

// BenchmarkAppByKey is the cost of the ingestion app cache's miss.
func BenchmarkAppByKey(b *testing.B) {
	db, _ := openTest(b)
	metadatatest.BenchAppByKey(b, db, nil)
}

// BenchmarkLink is the cost of a click or an impression to the store.
func BenchmarkLink(b *testing.B) {
	db, _ := openTest(b)
	metadatatest.BenchLink(b, db)
}
