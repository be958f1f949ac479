package pipeline_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/ingest"
	"github.com/unmogrowp/unmogrowp/metadata"
	"github.com/unmogrowp/unmogrowp/pipeline"
	"github.com/unmogrowp/unmogrowp/skan"
)

// signedBatch returns a forwarded batch of n SKAdNetwork 4.0 postbacks, each with its own
// transaction id, signed with priv as Apple signs them.
func signedBatch(b *testing.B, priv *ecdsa.PrivateKey, batch, n int) []byte {
	b.Helper()
	var sb bytes.Buffer
	sb.WriteString(`{"postbacks":[`)
	for i := range n {
		txn := fmt.Sprintf("%08d-0000-4000-8000-%012d", batch, i)
		fields := []string{"4.0", "example123.skadnetwork", "5239", "525463029", txn, "false", "example.com", "1", "true", "0"}
		h := sha256.Sum256([]byte(strings.Join(fields, "\u2063")))
		sig, err := ecdsa.SignASN1(rand.Reader, priv, h[:])
		if err != nil {
			b.Fatal(err)
		}
		p := map[string]any{"version": "4.0", "ad-network-id": "example123.skadnetwork", "source-identifier": "5239",
			"app-id": 525463029, "transaction-id": txn, "redownload": false, "source-domain": "example.com",
			"fidelity-type": 1, "did-win": true, "conversion-value": i % 64, "postback-sequence-index": 0,
			"attribution-signature": base64.StdEncoding.EncodeToString(sig)}
		if i > 0 {
			sb.WriteByte(',')
		}
		j, _ := json.Marshal(p)
		sb.Write(j)
	}
	sb.WriteString(`]}`)
	return sb.Bytes()
}

// BenchmarkSKANIntake measures forwarded batches of 1000 signed postbacks end to end:
// POST /v1/skan/postbacks (read, verify each signature, append to the WAL), then the
// pipeline into DuckDB, until every postback is committed. postbacks/s is the figure of
// docs/performance.md.
func BenchmarkSKANIntake(b *testing.B) {
	const perBatch = 1000
	e := newEnv(b)
	meta, err := metadata.Open(context.Background(), metadata.SQLiteURL(filepath.Join(b.TempDir(), "meta.db")), metadata.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { meta.Close() })
	app := &unmogrowp.App{Name: "bench", Platform: "ios", Settings: unmogrowp.DefaultAppSettings()}
	keys, err := meta.CreateApp(context.Background(), app)
	if err != nil {
		b.Fatal(err)
	}
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	kt, err := skan.NewKeys([]skan.KeyData{{KID: "bench/0", Environment: unmogrowp.EnvironmentProduction, SKAdNetwork: true, DER: base64.StdEncoding.EncodeToString(der)}})
	if err != nil {
		b.Fatal(err)
	}
	srv := ingest.New(ingest.Config{Log: e.wal, Apps: meta, SKANApps: meta, SKANKeys: kt, Registry: prometheus.NewRegistry()})
	bodies := make([][]byte, 4)
	for i := range bodies {
		bodies[i] = signedBatch(b, priv, i, perBatch)
	}
	r := start(b, e.wal, e.dedup, e.store, pipeline.Options{})
	b.ResetTimer()
	for i := range b.N {
		req := httptest.NewRequest("POST", "/v1/skan/postbacks", bytes.NewReader(bodies[i%len(bodies)]))
		req.Header.Set("X-Api-Key", keys.ServerKey)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"accepted":1000`) {
			b.Fatalf("batch %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	r.waitRecords(b, int64(b.N*perBatch))
	b.StopTimer()
	b.ReportMetric(float64(b.N*perBatch)/b.Elapsed().Seconds(), "postbacks/s")
	stored, _, err := e.store.SKANPostbacks(context.Background(), unmogrowp.SKANFilter{AppID: app.ID, Limit: 1})
	if err != nil || len(stored) != 1 || stored[0].Signature != unmogrowp.SignatureValid {
		b.Fatalf("stored: %+v %v", stored, err)
	}
}
