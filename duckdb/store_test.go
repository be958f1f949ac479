package duckdb

import (
	"testing"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/storetest"
)

// openMemory opens a fresh in-memory store, closed when the test ends.
func openMemory(t *testing.T) *Store {
	t.Helper()
	s, err := Open("", Options{Threads: 2, MemoryLimit: "512MB"})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) unmogrowp.EventStore { return openMemory(t) })
	})
}
