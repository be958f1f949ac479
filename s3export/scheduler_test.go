package s3export

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/duckdb"
	"github.com/unmogrowp/unmogrowp/internal/testenv"
	"github.com/unmogrowp/unmogrowp/metadata"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// testS3 is the S3-compatible server of UNMOGROWP_TEST_S3_URL, with a new bucket.
type testS3 struct {
	endpoint, access, secret, bucket string
	c                                *minio.Client
}

// S3 returns the test server with a fresh bucket, or skips the test without one.
func S3(t *testing.T) *testS3 {
	t.Helper()
	raw := testenv.Server(t, testenv.S3Env, testenv.S3Enable)
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		t.Fatalf("%s=%q: want http://access:secret@host:port", testenv.S3Env, raw)
	}
	secret, _ := u.User.Password()
	s := &testS3{endpoint: u.Scheme + "://" + u.Host, access: u.User.Username(), secret: secret}
	s.c, err = minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(s.access, secret, ""), Secure: u.Scheme == "https"})
	if err != nil {
		t.Fatal(err)
	}
	s.bucket = "t-" + strings.ToLower(rand.Text()[:16])
	if err := s.c.MakeBucket(context.Background(), s.bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket: %v", err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		for o := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Recursive: true}) {
			if o.Err == nil {
				_ = s.c.RemoveObject(ctx, s.bucket, o.Key, minio.RemoveObjectOptions{})
			}
		}
		_ = s.c.RemoveBucket(ctx, s.bucket)
	})
	return s
}

// Destination is a destination in the test bucket under prefix.
func (s *testS3) Destination(prefix string) unmogrowp.S3Destination {
	return unmogrowp.S3Destination{Type: "s3", Endpoint: s.endpoint, Region: "us-east-1", Bucket: s.bucket,
		Prefix: prefix, PathStyle: true, AccessKeyID: s.access, SecretAccessKey: s.secret}
}

// Get returns the object's bytes.
func (s *testS3) Get(t *testing.T, key string) []byte {
	t.Helper()
	o, err := s.c.GetObject(context.Background(), s.bucket, key, minio.GetObjectOptions{})
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

// Keys lists the bucket's keys, sorted.
func (s *testS3) Keys(t *testing.T) []string {
	t.Helper()
	var keys []string
	for o := range s.c.ListObjects(context.Background(), s.bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list: %v", o.Err)
		}
		keys = append(keys, o.Key)
	}
	slices.Sort(keys)
	return keys
}

// Manifest reads a _SUCCESS object and checks that its part's rows, size and SHA-256 are
// the part object's; it returns the part's bytes and its rows.
func (s *testS3) Manifest(t *testing.T, dir string) ([]byte, int64) {
	t.Helper()
	var m manifest
	if err := json.Unmarshal(s.Get(t, dir+"_SUCCESS"), &m); err != nil {
		t.Fatalf("_SUCCESS: %v", err)
	}
	if len(m.Parts) != 1 || m.Rows != m.Parts[0].Rows {
		t.Fatalf("_SUCCESS = %+v, want one part with all the rows", m)
	}
	part := s.Get(t, dir+m.Parts[0].Name)
	sum := sha256.Sum256(part)
	if hex.EncodeToString(sum[:]) != m.Parts[0].SHA256 || int64(len(part)) != m.Parts[0].Bytes {
		t.Fatalf("_SUCCESS says sha256 %s, %d bytes; the part has %x, %d", m.Parts[0].SHA256, m.Parts[0].Bytes, sum, len(part))
	}
	return part, m.Rows
}

// rig is a scheduler over SQLite and DuckDB, with a clock the test moves.
type rig struct {
	meta  *metadata.DB
	store *duckdb.Store
	key   *unmogrowp.SecretKey
	app   string
	now   time.Time
	s     *Scheduler
	off   int64
}

// day0 is the day the tests' events happen on.
var day0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func newRig(t *testing.T, withKey bool) *rig {
	t.Helper()
	ctx := context.Background()
	meta, err := metadata.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "metadata.db"), metadata.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	store, err := duckdb.Open(ctx, "", duckdb.Options{Threads: 2, MemoryLimit: "512MB"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	app := &unmogrowp.App{Name: "export", Platform: unmogrowp.PlatformIOS, BundleID: "com.example.export", Settings: unmogrowp.DefaultAppSettings()}
	if _, err := meta.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	r := &rig{meta: meta, store: store, app: app.ID, now: day0.Add(90 * time.Minute)}
	if withKey {
		r.key, _ = unmogrowp.ParseSecretKey(strings.Repeat("ab", 32))
	}
	r.s = New(Config{Store: meta, Results: store, Deliveries: meta, Key: r.key, Delay: 10 * time.Minute,
		LateWindow: time.Hour, Interval: time.Minute, TmpDir: t.TempDir(), Now: func() time.Time { return r.now },
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	return r
}

// addEvents stores n session events at the times given, each its own device.
func (r *rig) addEvents(t *testing.T, at ...time.Time) {
	t.Helper()
	var b unmogrowp.Batch
	for _, ts := range at {
		r.off++
		b.Events = append(b.Events, unmogrowp.Event{
			Partition: 0, Offset: r.off, AppID: r.app, EventID: fmt.Sprintf("ev-%03d", r.off),
			EventType: unmogrowp.EventSession, DeviceID: fmt.Sprintf("dev-%d", r.off), Platform: "ios",
			Timestamp: ts, ReceivedAt: ts.Add(time.Second), Revenue: 1.5, HasRevenue: r.off%2 == 0, Currency: "USD",
		})
	}
	if err := r.store.Append(context.Background(), b); err != nil {
		t.Fatalf("Append: %v", err)
	}
}

// create stores an export of the rig's app.
func (r *rig) create(t *testing.T, e *unmogrowp.ScheduledExport) {
	t.Helper()
	e.AppID = r.app
	if err := e.Validate(r.now); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if r.key != nil {
		e.Destination.SealedSecret = r.key.Seal(e.Destination.SecretAccessKey, r.app)
	} else {
		e.Destination.SealedSecret = []byte("sealed by a key this server does not have")
	}
	if err := r.meta.CreateScheduledExport(context.Background(), e, r.now); err != nil {
		t.Fatalf("CreateScheduledExport: %v", err)
	}
}

func (r *rig) tick(t *testing.T) {
	t.Helper()
	if err := r.s.Tick(context.Background()); err != nil {
		t.Fatalf("Tick: %v", err)
	}
}

func (r *rig) runs(t *testing.T, id string) []unmogrowp.ExportRun {
	t.Helper()
	runs, err := r.meta.ExportRuns(context.Background(), r.app, id, 100)
	if err != nil {
		t.Fatalf("ExportRuns: %v", err)
	}
	return runs
}

// gunzipLines returns the lines of a gzipped text part.
func gunzipLines(t *testing.T, b []byte) []string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
}

// Each format and cadence: a period is written only once it has ended plus the delay, to
// the Hive-style keys with a _SUCCESS that names the part's rows and SHA-256; the rows are
// the pulled export's (the Parquet part read back with DuckDB).
func TestScheduledExportFormats(t *testing.T) {
	s3 := S3(t)
	for _, tc := range []struct{ format, cadence string }{
		{unmogrowp.FileCSVGzip, unmogrowp.CadenceHourly},
		{unmogrowp.FileNDJSONGzip, unmogrowp.CadenceDaily},
		{unmogrowp.FileParquet, unmogrowp.CadenceHourly},
	} {
		t.Run(tc.format+"/"+tc.cadence, func(t *testing.T) {
			r := newRig(t, true)
			r.now = day0.Add(50 * time.Minute)
			e := &unmogrowp.ScheduledExport{Reports: []string{unmogrowp.ExportEvents, unmogrowp.ExportInstalls}, Format: tc.format,
				Cadence: tc.cadence, Destination: s3.Destination(tc.format + "-" + tc.cadence + "/"), Start: day0}
			r.create(t, e)
			r.addEvents(t, day0.Add(5*time.Minute), day0.Add(30*time.Minute), day0.Add(70*time.Minute))
			r.tick(t)
			if runs := r.runs(t, e.ID); len(runs) != 0 {
				t.Fatalf("runs before any period ended: %+v", runs)
			}
			r.now = day0.Add(24*time.Hour + 11*time.Minute) // every hour of day 0, and day 0 itself, are due
			r.tick(t)

			dir := e.ObjectDir(unmogrowp.ExportEvents, day0)
			wantRows := int64(2)
			if tc.cadence == unmogrowp.CadenceDaily {
				wantRows = 3
			}
			part, rows := s3.Manifest(t, dir)
			if rows != wantRows {
				t.Fatalf("%s: %d rows, want %d", dir, rows, wantRows)
			}
			switch tc.format {
			case unmogrowp.FileCSVGzip:
				lines := gunzipLines(t, part)
				if len(lines) != 3 || !strings.HasPrefix(lines[0], "event_id,event_type,timestamp,") ||
					!strings.HasPrefix(lines[1], "ev-001,session,2026-03-02T00:05:00Z,") || !strings.HasPrefix(lines[2], "ev-002,") {
					t.Fatalf("CSV part:\n%s", strings.Join(lines, "\n"))
				}
			case unmogrowp.FileNDJSONGzip:
				lines := gunzipLines(t, part)
				if len(lines) != 3 || !strings.HasPrefix(lines[2], `{"event_id":"ev-003","event_type":"session","timestamp":"2026-03-02T01:10:00Z"`) {
					t.Fatalf("NDJSON part:\n%s", strings.Join(lines, "\n"))
				}
			case unmogrowp.FileParquet:
				checkParquet(t, part)
			}
			if tc.cadence == unmogrowp.CadenceHourly {
				if !strings.HasSuffix(dir, "/dt=2026-03-02/hour=00/") {
					t.Errorf("hourly dir %q", dir)
				}
				if _, rows := s3.Manifest(t, e.ObjectDir(unmogrowp.ExportEvents, day0.Add(time.Hour))); rows != 1 {
					t.Errorf("hour 1: %d rows, want 1", rows)
				}
				if _, rows := s3.Manifest(t, e.ObjectDir(unmogrowp.ExportEvents, day0.Add(5*time.Hour))); rows != 0 {
					t.Errorf("hour 5: %d rows, want 0 (an empty period is written too)", rows)
				}
			}
			_, rows = s3.Manifest(t, e.ObjectDir(unmogrowp.ExportInstalls, day0))
			if rows != 0 {
				t.Errorf("installs: %d rows, want 0", rows)
			}
			runs := r.runs(t, e.ID)
			wantRuns := 2 * 24
			if tc.cadence == unmogrowp.CadenceDaily {
				wantRuns = 2
			}
			if len(runs) != wantRuns {
				t.Fatalf("%d runs, want %d", len(runs), wantRuns)
			}
			for _, run := range runs {
				if run.Status != unmogrowp.RunSucceeded || run.Attempts != 1 || run.Bytes == 0 || len(run.SHA256) != 64 {
					t.Fatalf("run %+v", run)
				}
			}
		})
	}
}

// checkParquet reads the events part with DuckDB: its columns in the fields' order and
// typed, its rows those stored.
func checkParquet(t *testing.T, part []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "part.parquet")
	if err := os.WriteFile(path, part, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?))`, path)
	if err != nil {
		t.Fatalf("describe: %v", err)
	}
	var names, types []string
	for rows.Next() {
		var n, ty string
		if err := rows.Scan(&n, &ty); err != nil {
			t.Fatal(err)
		}
		names, types = append(names, n), append(types, ty)
	}
	rows.Close()
	if !slices.Equal(names, unmogrowp.ExportFields[unmogrowp.ExportEvents]) {
		t.Fatalf("columns %v, want the events fields in order", names)
	}
	want := map[string]string{"event_id": "VARCHAR", "timestamp": "TIMESTAMP WITH TIME ZONE", "revenue": "DOUBLE", "event_data": "JSON"}
	for i, n := range names {
		if w, ok := want[n]; ok && types[i] != w {
			t.Errorf("column %s is %s, want %s", n, types[i], w)
		}
	}
	var n, withRevenue int
	var first string
	var firstAt time.Time
	if err := db.QueryRow(`SELECT count(*), count(revenue), min(event_id), min(timestamp) FROM read_parquet(?)`, path).
		Scan(&n, &withRevenue, &first, &firstAt); err != nil {
		t.Fatalf("read parquet: %v", err)
	}
	if n != 2 || withRevenue != 1 || first != "ev-001" || !firstAt.Equal(day0.Add(5*time.Minute)) {
		t.Fatalf("parquet: %d rows, %d with revenue, first %s at %v", n, withRevenue, first, firstAt)
	}
}

// Late data within the window rewrites the period whole (no row twice), a check that
// finds nothing new writes nothing, and after the window nothing is checked any more.
func TestScheduledExportLateData(t *testing.T) {
	s3 := S3(t)
	r := newRig(t, true)
	e := &unmogrowp.ScheduledExport{Reports: []string{unmogrowp.ExportEvents}, Format: unmogrowp.FileNDJSONGzip,
		Cadence: unmogrowp.CadenceHourly, Destination: s3.Destination("late/"), Start: day0}
	r.create(t, e)
	r.addEvents(t, day0.Add(10*time.Minute), day0.Add(20*time.Minute))
	r.now = day0.Add(time.Hour + 10*time.Minute)
	r.tick(t)
	dir := e.ObjectDir(unmogrowp.ExportEvents, day0)
	if _, rows := s3.Manifest(t, dir); rows != 2 {
		t.Fatalf("first write: %d rows, want 2", rows)
	}

	r.now = r.now.Add(r.s.Recheck())
	r.tick(t) // nothing late
	run := r.runs(t, e.ID)[0]
	if run.Rewrites != 0 || run.Attempts != 1 || !run.CheckedAt.Equal(r.now) {
		t.Fatalf("after a check that found nothing: %+v", run)
	}

	r.addEvents(t, day0.Add(15*time.Minute)) // late, within the window
	r.now = r.now.Add(r.s.Recheck())
	r.tick(t)
	part, rows := s3.Manifest(t, dir)
	lines := gunzipLines(t, part)
	ids := map[string]bool{}
	for _, l := range lines {
		var row struct {
			EventID string `json:"event_id"`
		}
		if err := json.Unmarshal([]byte(l), &row); err != nil {
			t.Fatal(err)
		}
		ids[row.EventID] = true
	}
	if rows != 3 || len(lines) != 3 || len(ids) != 3 {
		t.Fatalf("after late data: %d rows, %d lines, %d distinct ids; want 3 of each", rows, len(lines), len(ids))
	}
	run = r.runs(t, e.ID)[0]
	if run.Rewrites != 1 || run.Attempts != 2 || run.Rows != 3 || run.Status != unmogrowp.RunSucceeded {
		t.Fatalf("after the rewrite: %+v", run)
	}
	if keys := s3.Keys(t); len(keys) != 2 {
		t.Fatalf("keys %v, want the period's part and _SUCCESS only", keys)
	}

	r.addEvents(t, day0.Add(16*time.Minute)) // after the window: not written
	r.now = day0.Add(time.Hour + 10*time.Minute + time.Hour + time.Minute)
	r.tick(t) // the check at the window's end
	r.now = r.now.Add(2 * time.Hour)
	r.addEvents(t, day0.Add(17*time.Minute))
	r.tick(t)
	if _, rows := s3.Manifest(t, dir); rows != 4 {
		t.Fatalf("after the window: %d rows, want the 4 stored by its end", rows)
	}
}

// A destination that refuses shows failed runs with its error, retried with growing waits;
// a server without SECRETS_KEY fails its runs saying so.
func TestScheduledExportFailures(t *testing.T) {
	s3 := S3(t)
	r := newRig(t, true)
	d := s3.Destination("denied/")
	d.SecretAccessKey = "not-the-secret"
	e := &unmogrowp.ScheduledExport{Reports: []string{unmogrowp.ExportEvents}, Format: unmogrowp.FileCSVGzip,
		Cadence: unmogrowp.CadenceDaily, Destination: d, Start: day0}
	r.create(t, e)
	r.now = day0.Add(24*time.Hour + 10*time.Minute)
	r.tick(t)
	run := r.runs(t, e.ID)[0]
	if run.Status != unmogrowp.RunFailed || run.Attempts != 1 || !strings.Contains(run.Error, "signature") ||
		!run.NextAttemptAt.Equal(r.now.Add(time.Minute)) {
		t.Fatalf("after the first attempt: %+v", run)
	}
	r.now = r.now.Add(time.Minute)
	r.tick(t)
	run = r.runs(t, e.ID)[0]
	if run.Status != unmogrowp.RunFailed || run.Attempts != 2 || !run.NextAttemptAt.Equal(r.now.Add(2*time.Minute)) {
		t.Fatalf("after the second attempt: %+v", run)
	}
	r.now = r.now.Add(time.Minute)
	r.tick(t) // not due yet
	if got := r.runs(t, e.ID)[0]; got.Attempts != 2 {
		t.Fatalf("retried before its backoff: %+v", got)
	}
	if len(s3.Keys(t)) != 0 {
		t.Fatal("a refused destination has objects")
	}

	nokey := newRig(t, false)
	f := &unmogrowp.ScheduledExport{Reports: []string{unmogrowp.ExportEvents}, Format: unmogrowp.FileCSVGzip,
		Cadence: unmogrowp.CadenceDaily, Destination: s3.Destination("nokey/"), Start: day0}
	nokey.create(t, f)
	nokey.now = day0.Add(24*time.Hour + 10*time.Minute)
	nokey.tick(t)
	if run := nokey.runs(t, f.ID)[0]; run.Status != unmogrowp.RunFailed || !strings.Contains(run.Error, "SECRETS_KEY is not set") {
		t.Fatalf("without SECRETS_KEY: %+v", run)
	}
}

// Of two schedulers ticking at once on one store, each period is written once.
func TestScheduledExportOneWriterPerPeriod(t *testing.T) {
	s3 := S3(t)
	r := newRig(t, true)
	e := &unmogrowp.ScheduledExport{Reports: []string{unmogrowp.ExportEvents}, Format: unmogrowp.FileCSVGzip,
		Cadence: unmogrowp.CadenceHourly, Destination: s3.Destination("two/"), Start: day0}
	r.create(t, e)
	r.addEvents(t, day0.Add(time.Minute))
	r.now = day0.Add(24*time.Hour + 10*time.Minute)
	other := New(r.s.cfg)
	done := make(chan error, 1)
	go func() { done <- other.Tick(context.Background()) }()
	r.tick(t)
	if err := <-done; err != nil {
		t.Fatalf("the other Tick: %v", err)
	}
	runs := r.runs(t, e.ID)
	if len(runs) != 24 {
		t.Fatalf("%d runs, want 24", len(runs))
	}
	for _, run := range runs {
		if run.Attempts != 1 || run.Status != unmogrowp.RunSucceeded {
			t.Fatalf("run written %d times: %+v", run.Attempts, run)
		}
	}
}

// A destination that takes the connection and never answers fails the run when its lease
// ends, with an error saying so, instead of holding the scheduler.
func TestScheduledExportStalledDestination(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c) }() // reads the request, answers nothing
		}
	}()
	r := newRig(t, true)
	const lease = 2 * time.Second
	r.s.cfg.Lease = lease
	r.addEvents(t, day0.Add(time.Hour))
	e := &unmogrowp.ScheduledExport{Reports: []string{unmogrowp.ExportEvents}, Format: unmogrowp.FileCSVGzip,
		Cadence: unmogrowp.CadenceDaily, Start: day0, Destination: unmogrowp.S3Destination{Type: "s3",
			Endpoint: "http://" + l.Addr().String(), Region: "us-east-1", Bucket: "stalled", PathStyle: true,
			AccessKeyID: "id", SecretAccessKey: "secret"}}
	r.create(t, e)
	r.now = day0.Add(24*time.Hour + 10*time.Minute)
	start := time.Now()
	r.tick(t)
	took := time.Since(start)
	run := r.runs(t, e.ID)[0]
	if run.Status != unmogrowp.RunFailed || !strings.Contains(run.Error, "lease ended") {
		t.Fatalf("after %v: %+v", took, run)
	}
	if took > lease+5*time.Second {
		t.Fatalf("the tick took %v with a lease of %v", took, lease)
	}
}
