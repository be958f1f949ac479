package duckdb

import (
	"testing"

	"github.com/unmogrowp/unmogrowp/internal/storetest"
)

func TestSKANConformance(t *testing.T) {
	t.Parallel()
	storetest.RunSKAN(t, func(t *testing.T) storetest.SKANEventStore { return openMemory(t) })
}
