package clickhouse

import (
	"testing"

	"github.com/unmogrowp/unmogrowp/internal/storetest"
)

func TestSKANConformance(t *testing.T) {
	storetest.RunSKAN(t, func(t *testing.T) storetest.SKANEventStore { return openTest(t) })
}
