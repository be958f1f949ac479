package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/api"
)

// exportData stores an install and three events of the fixture's app (one of the other
// app), and one postback delivery, all on 2026-03-02.
func exportData(t *testing.T, f *fixture) {
	t.Helper()
	ctx := context.Background()
	at := func(h, m int) time.Time { return time.Date(2026, 3, 2, h, m, 0, 0, time.UTC) }
	ev := func(o int64, app, id, typ string, ts time.Time) unmogrowp.Event {
		return unmogrowp.Event{Partition: 0, Offset: o, EventID: id, AppID: app, EventType: typ, DeviceID: "dev1",
			Timestamp: ts, ReceivedAt: ts, MediaSource: "fb", Campaign: "c1"}
	}
	b := unmogrowp.Batch{Events: []unmogrowp.Event{
		ev(1, f.app.ID, "e-install", unmogrowp.EventInstall, at(10, 0)),
		ev(2, f.app.ID, "e-buy", "purchase", at(11, 0)),
		ev(3, f.app.ID, "e-open", unmogrowp.EventSession, at(12, 0)),
		ev(4, f.other.ID, "e-other", unmogrowp.EventSession, at(12, 0)),
	}}
	b.Events[1].EventData = json.RawMessage(`{"item":"sword, \"great\""}`)
	b.Events[1].Revenue, b.Events[1].HasRevenue, b.Events[1].Currency = 4.99, true, "USD"
	b.Installs = []unmogrowp.Install{{Partition: 0, Offset: 1, FirstInstallTime: at(10, 0), Attribution: unmogrowp.Attribution{
		AppID: f.app.ID, DeviceID: "dev1", InstallEventID: "e-install", InstallTime: at(10, 0), Attributed: true,
		MatchType: unmogrowp.MatchDeviceID, TouchType: unmogrowp.TouchClick, MediaSource: "fb", Campaign: "c1", Adset: "s1",
	}}}
	if err := f.store.Append(ctx, b); err != nil {
		t.Fatal(err)
	}
	err := f.meta.Enqueue(ctx, []unmogrowp.Delivery{{ID: "d1", PostbackID: "pb", AppID: f.app.ID, ActivityKind: unmogrowp.TriggerInstall,
		URL: "https://n.example/p?a=1", Host: "n.example", Method: "GET", CreatedAt: at(10, 1)}})
	if err != nil {
		t.Fatal(err)
	}
}

// exportGet makes an export request with the app's server key and returns the answer and
// its body.
func exportGet(t *testing.T, f *fixture, report, query string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", f.srv.URL+"/api/apps/"+f.app.ID+"/export/"+report+"?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Api-Key", f.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp, buf.Bytes()
}

const exportRange = "from=2026-03-02T00:00:00Z&to=2026-03-03T00:00:00Z"

func TestExport(t *testing.T) {
	f := newFixture(t)
	exportData(t, f)

	resp, body := exportGet(t, f, "events", exportRange)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment; filename=") {
		t.Fatalf("events CSV: %d %v\n%s", resp.StatusCode, resp.Header, body)
	}
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not parse: %v\n%s", err, body)
	}
	if len(recs) != 4 || strings.Join(recs[0], ",") != strings.Join(unmogrowp.ExportFields[unmogrowp.ExportEvents], ",") {
		t.Fatalf("events CSV: %q", recs)
	}
	col := func(name string) int {
		for i, n := range recs[0] {
			if n == name {
				return i
			}
		}
		t.Fatalf("no column %s", name)
		return 0
	}
	buy := recs[2]
	if buy[col("event_id")] != "e-buy" || buy[col("event_data")] != `{"item":"sword, \"great\""}` ||
		buy[col("revenue")] != "4.99" || buy[col("adset")] != "s1" || buy[col("match_type")] != "device_id" {
		t.Errorf("the purchase's row: %q", buy)
	}

	// NDJSON of some fields, in Tokyo time; event_type filters.
	resp, body = exportGet(t, f, "events", exportRange+"&format=ndjson&fields=timestamp,event_id&timezone=Asia/Tokyo&event_type=purchase")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("NDJSON: %d %s", resp.StatusCode, body)
	}
	if want := `{"timestamp":"2026-03-02T20:00:00+09:00","event_id":"e-buy"}` + "\n"; string(body) != want {
		t.Errorf("NDJSON:\n%s\nwant\n%s", body, want)
	}

	// The other reports.
	resp, body = exportGet(t, f, "installs", exportRange+"&fields=device_id,media_source,adset&media_source=fb")
	if resp.StatusCode != 200 || string(body) != "device_id,media_source,adset\ndev1,fb,s1\n" {
		t.Errorf("installs: %d %q", resp.StatusCode, body)
	}
	resp, body = exportGet(t, f, "postback_deliveries", exportRange+"&fields=delivery_id,url,status")
	if resp.StatusCode != 200 || string(body) != "delivery_id,url,status\nd1,https://n.example/p?a=1,pending\n" {
		t.Errorf("postback_deliveries: %d %q", resp.StatusCode, body)
	}
	resp, body = exportGet(t, f, "skan_postbacks", exportRange+"&format=ndjson")
	if resp.StatusCode != 200 || len(body) != 0 {
		t.Errorf("skan_postbacks: %d %q, want an empty export", resp.StatusCode, body)
	}
	resp, body = exportGet(t, f, "touchpoints", exportRange)
	if lines := bufio.NewScanner(bytes.NewReader(body)); resp.StatusCode != 200 || !lines.Scan() || !strings.HasPrefix(lines.Text(), "touchpoint_id,type,timestamp") || lines.Scan() {
		t.Errorf("touchpoints: %d %q, want the header alone", resp.StatusCode, body)
	}
}

func TestExportRefusals(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		report, query string
		status        int
		names         string // what the error must name
	}{
		{"events", "to=2026-03-03T00:00:00Z", 400, "from"},
		{"events", "from=2026-03-02T00:00:00Z", 400, "to"},
		{"events", "from=2026-01-01T00:00:00Z&to=2026-04-05T00:00:00Z", 400, "93 days"},
		{"events", "from=soon&to=2026-04-05T00:00:00Z", 400, "from"},
		{"events", exportRange + "&fields=event_id,secret", 400, `"secret"`},
		{"events", exportRange + "&format=xml", 400, "format"},
		{"events", exportRange + "&timezone=Mars/Olympus", 400, "timezone"},
		{"events", exportRange + "&timezone=Local", 400, "timezone"},
		{"installs", exportRange + "&event_type=purchase", 400, "event_type"},
		{"rejected", exportRange + "&campaign=c1", 400, "campaign"},
		{"clicks", exportRange, 404, "installs, events"},
	} {
		resp, body := exportGet(t, f, c.report, c.query)
		var e struct{ Error string }
		if err := json.Unmarshal(body, &e); err != nil || resp.StatusCode != c.status || !strings.Contains(e.Error, c.names) {
			t.Errorf("%s?%s: %d %s, want %d naming %s", c.report, c.query, resp.StatusCode, body, c.status, c.names)
		}
	}
}

// An export streams for as long as its client reads: past the API's per-request deadline
// and past the server's WriteTimeout, which each flush moves ahead.
func TestExportOutlastsTimeouts(t *testing.T) {
	f := newFixture(t)
	const n = 20000
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	b := unmogrowp.Batch{Events: make([]unmogrowp.Event, n)}
	for i := range b.Events {
		ts := day.Add(time.Duration(i) * time.Second)
		b.Events[i] = unmogrowp.Event{Partition: 0, Offset: int64(i + 1), EventID: fmt.Sprintf("e-%06d", i), AppID: f.app.ID,
			EventType: unmogrowp.EventSession, DeviceID: fmt.Sprintf("dev-%d", i%500), Timestamp: ts, ReceivedAt: ts,
			MediaSource: "fb", Campaign: "a campaign long enough to make the rows a few hundred bytes each"}
	}
	if err := f.store.Append(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	const writeTimeout = 300 * time.Millisecond
	h, _ := apiServer(t, f.meta, f.store, api.Config{IngestURL: "https://t.example.com/", RequestTimeout: 100 * time.Millisecond})
	srv := httptest.NewUnstartedServer(h)
	srv.Config.WriteTimeout = writeTimeout
	srv.Listener = smallBuffers{srv.Listener}
	srv.Start()
	t.Cleanup(srv.Close)
	// Small socket buffers on both ends, so that the server's writes wait for the reader.
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			err = c.(*net.TCPConn).SetReadBuffer(16 << 10)
		}
		return c, err
	}}}

	req, err := http.NewRequest("GET", srv.URL+"/api/apps/"+f.app.ID+"/export/events?"+exportRange, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Api-Key", f.key)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// A slow reader: 16 KiB every 5 ms, so that the export lasts several write timeouts.
	var body bytes.Buffer
	chunk := make([]byte, 16<<10)
	for {
		k, err := resp.Body.Read(chunk)
		body.Write(chunk[:k])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %v and %d bytes: %v", time.Since(start), body.Len(), err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(start)
	recs, err := csv.NewReader(&body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || len(recs) != n+1 || recs[n][0] != "e-019999" {
		t.Fatalf("%d, %d rows (want %d), the last %q", resp.StatusCode, len(recs), n+1, recs[len(recs)-1])
	}
	if took < 3*writeTimeout {
		t.Fatalf("the export took %v, not long enough to outlast the timeouts (%v)", took, writeTimeout)
	}
	t.Logf("%d rows in %v", n, took)
}

// smallBuffers is a listener whose connections have 16 KiB send buffers.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		err = c.(*net.TCPConn).SetWriteBuffer(16 << 10)
	}
	return c, err
}
