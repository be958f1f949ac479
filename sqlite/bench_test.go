package sqlite

import (
	"context"
	"fmt"
	"testing"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// BenchmarkAppByKey looks up apps by key among 1000, one goroutine and in parallel. The
// ingestion hot path caches apps in memory; this is the cost of a cache miss.
func BenchmarkAppByKey(b *testing.B) {
	ctx := context.Background()
	db, _ := openTest(b)
	const apps = 1000
	keys := make([]unmogrowp.NewAppKeys, apps)
	for i := range keys {
		app := &unmogrowp.App{Name: fmt.Sprintf("App %d", i), Settings: unmogrowp.DefaultAppSettings()}
		app.Settings.IPBlocklist = []string{"10.0.0.0/8"}
		k, err := db.CreateApp(ctx, app)
		if err != nil {
			b.Fatal(err)
		}
		keys[i] = k
	}
	for _, kind := range []struct {
		name string
		kind unmogrowp.KeyKind
		key  func(unmogrowp.NewAppKeys) string
	}{
		{"SDKKey", unmogrowp.SDKKey, func(k unmogrowp.NewAppKeys) string { return k.SDKKey }},
		{"ServerKey", unmogrowp.ServerKey, func(k unmogrowp.NewAppKeys) string { return k.ServerKey }},
	} {
		b.Run(kind.name, func(b *testing.B) {
			n := 0
			for b.Loop() {
				if _, err := db.AppByKey(ctx, kind.key(keys[n%apps]), kind.kind); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lookups/s")
		})
		b.Run(kind.name+"Parallel", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, err := db.AppByKey(ctx, kind.key(keys[i%apps]), kind.kind); err != nil {
						b.Error(err)
						return
					}
					i += 7
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
		})
	}
}
