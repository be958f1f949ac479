package api_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/api"
	"github.com/unmogrowp/unmogrowp/internal/testenv"
)

// costCSV is a cost file of n rows with distinct keys: 100 days, 5 media sources, 200
// campaigns, adsets beyond.
func costCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("date,media_source,campaign,adset,ad,country,cost,currency,impressions,clicks\n")
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sources := []string{"facebook_ads", "googleadwords_int", "tiktok_int", "unityads_int", "applovin_int"}
	for i := range n {
		fmt.Fprintf(&b, "%s,%s,campaign_%d,adset_%d,ad_%d,US,%d.%02d,USD,%d,%d\n",
			day.AddDate(0, 0, i%100).Format(time.DateOnly), sources[i%5], (i/100)%200, i/20000, i%7,
			i%5000, i%100, 1000+i%9000, 10+i%500)
	}
	return b.Bytes()
}

// BenchmarkCostImport measures POST /api/apps/{app_id}/costs of a 100,000-row CSV file,
// through the API handler into the metadata store: SQLite, and PostgreSQL when
// UNMOGROWP_TEST_POSTGRES_URL is set. Each iteration imports into a new app (all rows
// new). The figures: seconds per file (sec/op), rows/s, and the CPU seconds this process
// spent per file (cpu-s/op; for PostgreSQL the server's are not in it), which a busy
// machine inflates less than the wall time.
func BenchmarkCostImport(b *testing.B) {
	const rows = 100_000
	body := costCSV(rows)
	run := func(b *testing.B, engine string) {
		meta := openMetadata(b, engine)
		h := api.New(api.Config{Apps: meta, Links: meta, Results: openDuckDB(b), Costs: meta, Registry: prometheus.NewRegistry()})
		b.SetBytes(int64(len(body)))
		var cpu int64 // this process's CPU ticks in the timed part: the machine may be busy
		ticks := func() int64 { u, s := testenv.PIDTicks(os.Getpid()); return u + s }
		b.ResetTimer()
		for range b.N {
			b.StopTimer()
			app := &unmogrowp.App{Name: "Bench", Platform: "ios", Settings: unmogrowp.DefaultAppSettings()}
			keys, err := meta.CreateApp(context.Background(), app)
			if err != nil {
				b.Fatal(err)
			}
			req := httptest.NewRequest("POST", "/api/apps/"+app.ID+"/costs", bytes.NewReader(body))
			req.Header.Set("X-Api-Key", keys.ServerKey)
			req.Header.Set("Content-Type", "text/csv")
			rec := httptest.NewRecorder()
			b.StartTimer()
			t0 := ticks()
			h.ServeHTTP(rec, req)
			cpu += ticks() - t0
			if rec.Code != http.StatusOK {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
		}
		b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		b.ReportMetric(float64(cpu)/100/float64(b.N), "cpu-s/op")
	}
	for _, engine := range metadataEngines {
		b.Run(engine, func(b *testing.B) { run(b, engine) })
	}
}
