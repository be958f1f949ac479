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

// BenchmarkLink looks up links by id among 2000 of 20 apps, one goroutine and in
// parallel: what a click on /c/{id} or an impression on /i/{id} costs the store.
func BenchmarkLink(b *testing.B) {
	ctx := context.Background()
	db, _ := openTest(b)
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
			AndroidURL:  "https://play.google.com/store/apps/details?id=com.example",
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
	b.Run("Missing", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.Link(ctx, "lk_doesnotexist0000"); err == nil {
				b.Fatal("found a missing link")
			}
		}
	})
}
