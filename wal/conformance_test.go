package wal_test

import (
	"context"
	"io"
	"testing"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/logtest"
	"github.com/unmogrowp/unmogrowp/wal"
)

func TestConformance(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts wal.Options
	}{
		{"Defaults", wal.Options{}},
		// Tiny segments and cache: rotation inside group writes, reads from files.
		{"SmallSegments", wal.Options{SegmentSize: 512, CacheBytes: 1, MaxPendingBytes: 4096}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logtest.Run(t, func(t *testing.T, dir string) (unmogrowp.Log, unmogrowp.LogReader, io.Closer) {
				w, err := wal.Open(context.Background(), dir, tt.opts)
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				return w, w, w
			})
		})
	}
}
