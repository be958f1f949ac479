package wal

import (
	"context"
	"runtime"
	"testing"
)

// benchValues returns n values of size bytes.
func benchValues(n, size int) [][]byte {
	vals := make([][]byte, n)
	for i := range vals {
		vals[i] = make([]byte, size)
		for j := range vals[i] {
			vals[i][j] = byte(i + j)
		}
	}
	return vals
}

// BenchmarkAppend measures durable appends from 32 concurrent callers: every Append
// returns only after the fdatasync that covers it.
func BenchmarkAppend(b *testing.B) {
	for _, bc := range []struct {
		name    string
		perCall int
	}{
		{"Batch100x32", 100},
		{"Single1x32", 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			w, err := Open(context.Background(), b.TempDir(), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			vals := benchValues(bc.perCall, 400)
			b.SetBytes(int64(bc.perCall * 400))
			b.SetParallelism((32 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if err := w.Append(ctx, "com.example.app", vals); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N*bc.perCall)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkRead measures reading 400-byte records in Reads of up to 1000: 50,000 records
// read over and over (the read position rewound at the end), from the in-memory tail
// cache, and from the segment files after a reopen with the cache turned down.
func BenchmarkRead(b *testing.B) {
	const total = 50_000
	for _, bc := range []struct {
		name  string
		cache int
	}{
		{"Cache", 64 << 20},
		{"Files", 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dir := b.TempDir()
			opts := Options{CacheBytes: bc.cache}
			w, err := Open(context.Background(), dir, opts)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			vals := benchValues(1000, 400)
			for range total / len(vals) {
				if err := w.Append(ctx, "com.example.app", vals); err != nil {
					b.Fatal(err)
				}
			}
			if bc.cache == 1 {
				w.Close()
				if w, err = Open(context.Background(), dir, opts); err != nil {
					b.Fatal(err)
				}
			}
			defer w.Close()
			b.SetBytes(400)
			b.ReportAllocs()
			b.ResetTimer()
			for n := 0; n < b.N; {
				if w.rd.next == total {
					w.rd.next = 0 // between Reads: no Read holds the position
				}
				recs, err := w.Read(ctx, min(1000, b.N-n))
				if err != nil {
					b.Fatal(err)
				}
				n += len(recs)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
