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
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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
// docs/performance.md; cpu-µs/postback the process's CPU time a postback, what the code
// costs on a machine whose cores are shared. distinct sends every postback once, each a
// new signature to verify; copies sends each batch twice, the second time with other
// conversion values, as a network forwards what Apple's device also sent (the second
// copies are answered by the verification cache and counted as duplicates).
func BenchmarkSKANIntake(b *testing.B) {
	b.Run("distinct", func(b *testing.B) { benchmarkSKANIntake(b, false) })
	b.Run("copies", func(b *testing.B) { benchmarkSKANIntake(b, true) })
}

func benchmarkSKANIntake(b *testing.B, copies bool) {
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
	// A new batch for every request (or every second one, with copies): the verification
	// cache must not answer for a postback sent only once.
	bodies := make([][]byte, b.N)
	for i := range bodies {
		if copies && i%2 == 1 {
			bodies[i] = otherValues(bodies[i-1])
		} else {
			bodies[i] = signedBatch(b, priv, i, perBatch)
		}
	}
	r := start(b, e.wal, e.dedup, e.store, pipeline.Options{})
	cpu := cpuTime(b)
	b.ResetTimer()
	for i := range b.N {
		req := httptest.NewRequest("POST", "/v1/skan/postbacks", bytes.NewReader(bodies[i]))
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
	b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/float64(b.N*perBatch), "cpu-µs/postback")
	stored, _, err := e.store.SKANPostbacks(context.Background(), unmogrowp.SKANFilter{AppID: app.ID, Limit: 1})
	if err != nil || len(stored) != 1 || stored[0].Signature != unmogrowp.SignatureValid {
		b.Fatalf("stored: %+v %v", stored, err)
	}
}

// otherValues returns a copy of a batch with every (unsigned) conversion value changed:
// another copy of the same postbacks, with the same signatures.
func otherValues(batch []byte) []byte {
	return cvPattern.ReplaceAllFunc(batch, func(m []byte) []byte {
		v, _ := strconv.Atoi(string(m[len(`"conversion-value":`):]))
		return fmt.Appendf(nil, `"conversion-value":%d`, (v+1)%64)
	})
}

var cvPattern = regexp.MustCompile(`"conversion-value":[0-9]+`)

// cpuTime is the process's CPU time so far, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
