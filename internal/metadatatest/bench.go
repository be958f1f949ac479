package metadatatest

import (
	"context"
	"fmt"
	"testing"

	"github.com/unmogrowp/unmogrowp"
)

// Store is a metadata store of apps and their links, as the benchmarks need it.
type Store interface {
	unmogrowp.AppStore
	unmogrowp.LinkStore
}

// BenchAppByKey looks up apps by key among 1000, one goroutine and in parallel. The
// ingestion hot path caches apps in memory; this is the cost of a cache miss. ready, if not
// nil, runs once the apps are stored (to refresh the planner's statistics, say).
func BenchAppByKey(b *testing.B, db unmogrowp.AppStore, ready func() error) {
	ctx := context.Background()
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
	if ready != nil {
		if err := ready(); err != nil {
			b.Fatal(err)
		}
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

// BenchLink looks up links by id among 2000 of 20 apps, one goroutine and in parallel:
// what a click on /c/{id} or an impression on /i/{id} costs the store.
func BenchLink(b *testing.B, db Store) {
	ctx := context.Background()
	const apps, links = 20, 2000
	appIDs := make([]string, apps)
	for i := range appIDs {
		app := &unmogrowp.App{Name: fmt.Sprintf("App %d", i), Settings: unmogrowp.DefaultAppSettings()}
		if _, err := db.CreateApp(ctx, app); err != nil {
			b.Fatal(err)
		}
		appIDs[i] = app.ID
	}
	ids := make([]string, links)
	for i := range ids {
		l := &unmogrowp.Link{
			AppID:       appIDs[i%apps],
			MediaSource: "network",
			Campaign:    fmt.Sprintf("campaign %d", i),
			IOSURL:      "https://apps.apple.com/app/id123456789",
			WebURL:      "https://example.com/",
		}
		if err := db.CreateLink(ctx, l); err != nil {
			b.Fatal(err)
		}
		ids[i] = l.ID
	}
	b.Run("Serial", func(b *testing.B) {
		n := 0
		for b.Loop() {
			if _, err := db.Link(ctx, ids[n%links]); err != nil {
				b.Fatal(err)
			}
			n++
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lookups/s")
	})
	b.Run("Parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := db.Link(ctx, ids[i%links]); err != nil {
					b.Error(err)
					return
				}
				i += 7
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	})
}
