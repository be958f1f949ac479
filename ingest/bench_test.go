package ingest

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"testing"
)

// benchBatch is a batch of n realistic events of about 400 bytes each.
func benchBatch(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"events":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"event_type":"purchase","event_id":"evt-%08d","device_id":"dev-%06d","user_id":"user-%06d",`+
			`"timestamp":1761056400,"platform":"android","os_version":"14","app_version":"3.2.1","device_model":"Pixel 8",`+
			`"country":"DE","language":"de","gaid":"38400000-8cf0-11bd-b23e-10b96e%06d","revenue":4.99,"currency":"EUR",`+
			`"event_data":{"sku":"gems_500","level":%d,"first_purchase":false}}`, i, i%5000, i%5000, i%1000000, i%80)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// BenchmarkIngestBatch is the whole ingestion of 100-event batches through the handler, in
// parallel: authentication, decoding, validation, encoding, and the durable append to a
// real write-ahead log (group commit, fdatasync) before each answer.
func BenchmarkIngestBatch(b *testing.B) {
	f := newFixture(&testing.T{}, nil)
	b.Cleanup(func() { f.log.Close() })
	body := benchBatch(100)
	b.SetBytes(int64(len(body)))
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", "/v1/events/batch", bytes.NewReader(body))
			req.Header.Set("X-App-Key", f.app.SDKKey)
			rec := httptest.NewRecorder()
			f.srv.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Errorf("status %d: %s", rec.Code, rec.Body)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "events/s")
}
