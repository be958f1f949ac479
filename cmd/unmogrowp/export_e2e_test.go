package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/unmogrowp/unmogrowp/internal/testenv"
)

// exportEnv makes `serve` write periods a second after they end, look for late data every
// second for 3 hours, and retry a failed period after 200 ms.
var exportEnv = []string{
	"SECRETS_KEY=" + strings.Repeat("5e", 32), "EXPORT_DELAY=1s", "EXPORT_LATE_WINDOW=3h",
	"EXPORT_LATE_CHECK=1s", "EXPORT_INTERVAL=200ms",
}

// TestScheduledExportServe runs the scheduled export's scenario on `unmogrowp serve`.
func TestScheduledExportServe(t *testing.T) {
	d := newEmbedded(t)
	runScheduledExport(t, d, func(t *testing.T) { d.p = startServe(t, d.dir, exportEnv...) })
}

// TestScheduledExportSplit runs it on the split deployment: the consumers (two, sharing the
// runs' leases in PostgreSQL) read ClickHouse.
func TestScheduledExportSplit(t *testing.T) {
	d := newSplit(t)
	d.env = append(d.env, exportEnv...)
	runScheduledExport(t, d, d.start)
}

// runScheduledExport: events in through the ingestion listener, an hourly export
// configured through the API (backfilling from two hours ago) writes each ended hour to a
// real S3-compatible server with a _SUCCESS that names the part's rows and SHA-256; a late
// event rewrites its hour whole; a destination that refuses (a wrong secret) shows failed
// runs with its error, tried again and again.
func runScheduledExport(t *testing.T, d deployment, start func(*testing.T)) {
	raw := testenv.Server(t, testenv.S3Env, testenv.S3Enable)
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		t.Fatalf("%s=%q: want http://access:secret@host:port", testenv.S3Env, raw)
	}
	secret, _ := u.User.Password()
	s3, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(u.User.Username(), secret, ""), Secure: u.Scheme == "https"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	bucket := "e2e-" + strings.ToLower(rand.Text()[:12])
	if err := s3.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket: %v", err)
	}
	get := func(key string) []byte {
		t.Helper()
		o, err := s3.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatalf("get %s: %v", key, err)
		}
		defer o.Close()
		b, err := io.ReadAll(o)
		if err != nil {
			t.Fatalf("get %s: %v", key, err)
		}
		return b
	}
	t.Cleanup(func() {
		for o := range s3.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
			if o.Err == nil {
				_ = s3.RemoveObject(ctx, bucket, o.Key, minio.RemoveObjectOptions{})
			}
		}
		_ = s3.RemoveBucket(ctx, bucket)
	})

	start(t)
	code, resp, _ := call(t, "POST", d.apiURL()+"/api/auth/register", nil, map[string]any{"email": "exports@example.com", "password": "correct horse battery"})
	var reg struct {
		Token string `json:"token"`
	}
	if json.Unmarshal(resp, &reg); code != 201 || reg.Token == "" {
		t.Fatalf("register: %d %s", code, resp)
	}
	bearer := map[string]string{"Authorization": "Bearer " + reg.Token}
	code, resp, _ = call(t, "POST", d.apiURL()+"/api/apps", bearer, map[string]any{"name": "Exported", "platform": "ios"})
	var app struct {
		ID     string `json:"id"`
		SDKKey string `json:"sdk_key"`
	}
	if json.Unmarshal(resp, &app); code != 201 || app.SDKKey == "" {
		t.Fatalf("create app: %d %s", code, resp)
	}

	hour := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour) // ended more than an hour ago
	send := func(id string, at time.Time) {
		t.Helper()
		code, resp, _ := call(t, "POST", d.ingestURL()+"/v1/events", map[string]string{"X-App-Key": app.SDKKey},
			map[string]any{"event_id": id, "event_type": "session", "device_id": "dev-" + id, "timestamp": at.Unix()})
		if code != 200 {
			t.Fatalf("event %s: %d %s", id, code, resp)
		}
	}
	send("e1", hour.Add(10*time.Minute))
	send("e2", hour.Add(20*time.Minute))
	send("e3", hour.Add(70*time.Minute)) // the next hour
	d.waitDrained(t)

	create := func(prefix, secret string) string {
		t.Helper()
		code, resp, _ := call(t, "POST", d.apiURL()+"/api/apps/"+app.ID+"/exports", bearer, map[string]any{
			"reports": []string{"events"}, "format": "ndjson.gz", "cadence": "hourly", "start": hour.Format(time.RFC3339),
			"destination": map[string]any{"type": "s3", "endpoint": u.Scheme + "://" + u.Host, "region": "us-east-1",
				"bucket": bucket, "prefix": prefix, "access_key_id": u.User.Username(), "secret_access_key": secret, "path_style": true},
		})
		var e struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(resp, &e); code != 201 || e.ID == "" || strings.Contains(string(resp), secret) {
			t.Fatalf("create export: %d %s", code, resp)
		}
		return e.ID
	}
	type run struct {
		PeriodStart string `json:"period_start"`
		Status      string `json:"status"`
		Rows        int64  `json:"rows"`
		Error       string `json:"error"`
		Attempts    int    `json:"attempts"`
		Rewrites    int    `json:"rewrites"`
	}
	runOf := func(id string, start time.Time) run {
		t.Helper()
		code, resp, _ := call(t, "GET", d.apiURL()+"/api/apps/"+app.ID+"/exports/"+id+"/runs", bearer, nil)
		var out struct{ Runs []run }
		if err := json.Unmarshal(resp, &out); code != 200 || err != nil {
			t.Fatalf("runs: %d %s", code, resp)
		}
		for _, r := range out.Runs {
			if r.PeriodStart == start.Format(time.RFC3339) {
				return r
			}
		}
		return run{}
	}
	// manifest reads an hour's _SUCCESS, checks the part against it, and returns the part's
	// event ids.
	manifest := func(prefix string, start time.Time) []string {
		t.Helper()
		dir := fmt.Sprintf("%sapp_id=%s/report=events/dt=%s/hour=%02d/", prefix, app.ID, start.Format(time.DateOnly), start.Hour())
		var m struct {
			Rows  int64
			Parts []struct {
				Name   string
				Rows   int64
				SHA256 string
			}
		}
		if err := json.Unmarshal(get(dir+"_SUCCESS"), &m); err != nil || len(m.Parts) != 1 {
			t.Fatalf("%s_SUCCESS: %+v, %v", dir, m, err)
		}
		part := get(dir + m.Parts[0].Name)
		if sum := sha256.Sum256(part); hex.EncodeToString(sum[:]) != m.Parts[0].SHA256 {
			t.Fatalf("%s: the part's SHA-256 is not the manifest's", dir)
		}
		zr, err := gzip.NewReader(bytes.NewReader(part))
		if err != nil {
			t.Fatal(err)
		}
		text, _ := io.ReadAll(zr)
		var ids []string
		for line := range strings.Lines(string(text)) {
			var row struct {
				EventID string `json:"event_id"`
			}
			if err := json.Unmarshal([]byte(line), &row); err != nil {
				t.Fatalf("%s: %q: %v", dir, line, err)
			}
			ids = append(ids, row.EventID)
		}
		if int64(len(ids)) != m.Rows {
			t.Fatalf("%s: %d rows, the manifest says %d", dir, len(ids), m.Rows)
		}
		return ids
	}

	good := create("good/", secret)
	waitFor(t, "the first two hours written", func() bool {
		return runOf(good, hour).Status == "succeeded" && runOf(good, hour.Add(time.Hour)).Status == "succeeded"
	})
	if ids := manifest("good/", hour); strings.Join(ids, ",") != "e1,e2" {
		t.Fatalf("hour 0 holds %v, want e1,e2", ids)
	}
	if ids := manifest("good/", hour.Add(time.Hour)); strings.Join(ids, ",") != "e3" {
		t.Fatalf("hour 1 holds %v, want e3", ids)
	}
	if r := runOf(good, hour.Add(2*time.Hour)); r.Status != "" {
		t.Fatalf("the hour under way has a run: %+v", r)
	}

	send("late", hour.Add(15*time.Minute))
	d.waitDrained(t)
	waitFor(t, "the late event's hour rewritten", func() bool { return runOf(good, hour).Rewrites == 1 })
	if ids := manifest("good/", hour); strings.Join(ids, ",") != "e1,late,e2" {
		t.Fatalf("hour 0 after the late event holds %v, want e1,late,e2 (each once, in time order)", ids)
	}
	if r := runOf(good, hour); r.Rows != 3 || r.Status != "succeeded" || r.Attempts != 2 {
		t.Fatalf("hour 0's run after the rewrite: %+v", r)
	}

	bad := create("bad/", "not-the-secret")
	waitFor(t, "the refused destination's run tried twice", func() bool { return runOf(bad, hour).Attempts >= 2 })
	if r := runOf(bad, hour); r.Status != "failed" || !strings.Contains(r.Error, "signature") {
		t.Fatalf("the refused destination's run: %+v", r)
	}
	for o := range s3.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: "bad/", Recursive: true}) {
		t.Fatalf("the refused destination has an object: %s", o.Key)
	}
}
