package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/opendsr"
)

// TestErasure runs the OpenDSR scenario on `unmogrowp serve`.
func TestErasure(t *testing.T) {
	d := newEmbedded(t)
	runErasure(t, d, func(t *testing.T) { d.p = startServe(t, d.dir, postbackEnv...) })
}

// TestSplitErasure runs it on the split deployment (ClickHouse, Redis, PostgreSQL, Kafka).
func TestSplitErasure(t *testing.T) {
	d := newSplit(t)
	d.env = append(d.env, postbackEnv...)
	runErasure(t, d, d.start)
}

// callbackReceiver records the OpenDSR status callbacks it gets.
type callbackReceiver struct {
	*httptest.Server
	mu   sync.Mutex
	got  [][]byte
	sigs []string
}

func newCallbackReceiver(t *testing.T) *callbackReceiver {
	c := &callbackReceiver{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.got, c.sigs = append(c.got, b), append(c.sigs, r.Header.Get(opendsr.HeaderSignature))
		c.mu.Unlock()
	}))
	t.Cleanup(c.Close)
	return c
}

// runErasure plays two devices' clicks, installs and purchases, with a postback for every
// install and event, then erases one device by an OpenDSR request and checks that within
// 60 s the request is completed, and then: its attribution answers 404 on both listeners;
// the exports, the stats and the postback deliveries hold nothing of it, the stats having
// dropped by exactly its contribution; the callbacks were signed with the certificate of
// the discovery; a later event of the device is answered 200 and not stored. Then an
// access request for the other device gives its NDJSON file.
func runErasure(t *testing.T, d deployment, start func(*testing.T)) {
	ctx := context.Background()
	app := d.createApp(t, "Erasure")
	recv := newReceiver(t, "")
	meta := openMeta(t, d)
	pb := &unmogrowp.Postback{AppID: app.ID, Enabled: true, Name: "all", MediaSource: "net_e", SendAll: true,
		URLTemplate: recv.srv.URL + "/all?k={activity_kind}&dev={device_id}&gaid={gaid}"}
	if err := meta.CreatePostback(ctx, pb); err != nil {
		t.Fatal(err)
	}
	start(t)
	server := map[string]string{"X-Api-Key": app.ServerKey}
	at := time.Now().Add(time.Minute).Truncate(time.Second)
	const (
		victim, victimGAID = "erase-me", "38400000-8cf0-11bd-b23e-0000000000e1"
		other, otherGAID   = "keep-me", "38400000-8cf0-11bd-b23e-0000000000e2"
	)
	for _, g := range []string{victimGAID, otherGAID} {
		sendTouch(t, d, app, map[string]any{"type": "click", "media_source": "net_e", "gaid": g, "timestamp": at.Add(-time.Hour).Unix()})
	}
	d.waitDrained(t)
	var events []map[string]any
	for _, dev := range []struct {
		id, gaid string
		revenue  float64
	}{{victim, victimGAID, 5}, {other, otherGAID, 3}} {
		events = append(events,
			map[string]any{"event_type": "install", "device_id": dev.id, "gaid": dev.gaid, "platform": "android", "timestamp": at.Unix()},
			map[string]any{"event_type": "purchase", "device_id": dev.id, "gaid": dev.gaid, "platform": "android",
				"revenue": dev.revenue, "currency": "USD", "timestamp": at.Add(time.Minute).Unix()})
	}
	sendEvents(t, d, server, events)
	d.waitDrained(t)
	recv.wait(t, "/all", 2, 10*time.Second)
	if got := attributionOf(t, d, app, victim); got.MediaSource != "net_e" {
		t.Fatalf("before erasure, %s is attributed to %q", victim, got.MediaSource)
	}

	rng := "&from=" + at.Add(-2*time.Hour).Format(time.RFC3339) + "&to=" + at.Add(time.Hour).Format(time.RFC3339)
	stats := func() unmogrowp.Stats {
		t.Helper()
		code, resp, _ := call(t, "GET", d.apiURL()+"/api/dashboard/stats?app_id="+app.ID+rng, server, nil)
		var st unmogrowp.Stats
		if err := json.Unmarshal(resp, &st); code != 200 || err != nil {
			t.Fatalf("stats: %d %s", code, resp)
		}
		return st
	}
	before := stats()

	// The erasure, with a callback URL.
	cb := newCallbackReceiver(t)
	id := "c0ffee00-d5d6-44b2-9831-815ac9017798"
	body := map[string]any{
		"subject_request_id": id, "subject_request_type": "erasure", "submitted_time": time.Now().UTC().Format(time.RFC3339),
		"subject_identities":   []map[string]string{{"identity_type": "unmogrowp_device_id", "identity_value": victim, "identity_format": "raw"}},
		"status_callback_urls": []string{cb.URL + "/opendsr"},
	}
	requested := time.Now()
	code, resp, _ := call(t, "POST", d.apiURL()+"/api/apps/"+app.ID+"/opendsr/requests", server, body)
	if code != 201 {
		t.Fatalf("POST opendsr/requests: %d %s", code, resp)
	}
	status := func(id string) map[string]any {
		t.Helper()
		code, resp, _ := call(t, "GET", d.apiURL()+"/api/apps/"+app.ID+"/opendsr/requests/"+id, server, nil)
		var st map[string]any
		if err := json.Unmarshal(resp, &st); code != 200 || err != nil {
			t.Fatalf("status: %d %s", code, resp)
		}
		return st
	}
	waitCompleted := func(id string) map[string]any {
		t.Helper()
		var st map[string]any
		waitFor(t, "request "+id+" completed", func() bool { st = status(id); return st["request_status"] == "completed" })
		return st
	}
	st := waitCompleted(id)
	took := time.Since(requested)
	t.Logf("erasure completed %s after the request", took.Round(time.Millisecond))
	if took > time.Minute {
		t.Errorf("erasure took %s, more than a minute", took)
	}
	if st["log_purged_by"] == nil || st["completed_time"] == nil {
		t.Errorf("completed status without log_purged_by or completed_time: %v", st)
	}

	// Attribution: 404 on both listeners.
	code, resp, _ = call(t, "GET", d.ingestURL()+"/v1/attribution?device_id="+victim, map[string]string{"X-App-Key": app.SDKKey}, nil)
	if code != 404 {
		t.Errorf("GET /v1/attribution of the erased device: %d %s, want 404", code, resp)
	}
	code, resp, _ = call(t, "GET", d.apiURL()+"/api/apps/"+app.ID+"/attribution/"+victim, server, nil)
	if code != 404 {
		t.Errorf("GET /api/.../attribution of the erased device: %d %s, want 404", code, resp)
	}
	if got := attributionOf(t, d, app, other); got.MediaSource != "net_e" {
		t.Errorf("the other device lost its attribution: %+v", got)
	}

	// Stats dropped by exactly the device's contribution.
	after := stats()
	want := before
	want.Installs, want.NonOrganicInstalls, want.Events, want.Revenue, want.ActiveDevices, want.Clicks =
		before.Installs-1, before.NonOrganicInstalls-1, before.Events-2, before.Revenue-5, before.ActiveDevices-1, before.Clicks-1
	if before.Clicks > 0 {
		want.ConversionRate = float64(want.NonOrganicInstalls) / float64(want.Clicks)
	}
	if after != want {
		t.Errorf("stats after erasure = %+v\nwant %+v (before %+v)", after, want, before)
	}

	// Exports and the postback deliveries hold nothing of it.
	for _, report := range []string{"events", "installs", "touchpoints", "postback_deliveries"} {
		code, resp, _ := call(t, "GET", d.apiURL()+"/api/apps/"+app.ID+"/export/"+report+"?format=ndjson"+rng, server, nil)
		if code != 200 {
			t.Fatalf("export %s: %d %s", report, code, resp)
		}
		if bytes.Contains(resp, []byte(victim)) || bytes.Contains(resp, []byte(victimGAID)) {
			t.Errorf("export %s after erasure holds the device: %s", report, resp)
		}
		if !bytes.Contains(resp, []byte(other)) && !bytes.Contains(resp, []byte(otherGAID)) {
			t.Errorf("export %s after erasure lost the other device: %s", report, resp)
		}
	}
	code, resp, _ = call(t, "GET", d.apiURL()+"/api/apps/"+app.ID+"/postbacks/"+pb.ID+"/deliveries", server, nil)
	if code != 200 || bytes.Contains(resp, []byte(victim)) || !bytes.Contains(resp, []byte(other)) {
		t.Errorf("deliveries after erasure: %d %s", code, resp)
	}

	// Callbacks: in_progress then completed, signed with the discovery's certificate.
	code, resp, _ = call(t, "GET", d.apiURL()+"/api/apps/"+app.ID+"/opendsr/discovery", server, nil)
	var disc struct {
		Cert string `json:"processor_certificate"`
	}
	if err := json.Unmarshal(resp, &disc); code != 200 || err != nil {
		t.Fatalf("discovery: %d %s", code, resp)
	}
	_, cert, _ := call(t, "GET", disc.Cert, nil, nil)
	waitFor(t, "two callbacks", func() bool { cb.mu.Lock(); defer cb.mu.Unlock(); return len(cb.got) >= 2 })
	cb.mu.Lock()
	var statuses []string
	for i, b := range cb.got {
		if err := opendsr.Verify(cert, b, cb.sigs[i]); err != nil {
			t.Errorf("callback %s: signature: %v", b, err)
		}
		var s map[string]any
		json.Unmarshal(b, &s)
		statuses = append(statuses, s["request_status"].(string))
		if s["status_callback_url"] != cb.URL+"/opendsr" || s["subject_request_id"] != id {
			t.Errorf("callback %s", b)
		}
	}
	cb.mu.Unlock()
	if strings.Join(statuses, ",") != "in_progress,completed" {
		t.Errorf("callbacks said %v, want in_progress then completed", statuses)
	}

	// A later event of the device: 200, and not stored, attributed or sent.
	sent := len(recv.at("/all"))
	sendEvents(t, d, server, []map[string]any{{"event_type": "purchase", "device_id": victim, "revenue": 9, "currency": "USD", "timestamp": at.Add(2 * time.Minute).Unix()}})
	sendTouch(t, d, app, map[string]any{"type": "click", "media_source": "net_e", "gaid": victimGAID, "timestamp": at.Add(-time.Minute).Unix()})
	d.waitDrained(t)
	if code, resp, _ := call(t, "GET", d.apiURL()+"/api/apps/"+app.ID+"/export/events?format=ndjson"+rng, server, nil); code != 200 || bytes.Contains(resp, []byte(victim)) {
		t.Errorf("events export after the later event: %d %s", code, resp)
	}
	if got := stats(); got != after {
		t.Errorf("stats after the later event = %+v, want %+v", got, after)
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(recv.at("/all")); n != sent {
		t.Errorf("a postback was sent for the erased device's later event (%d, was %d)", n, sent)
	}

	// Access: the other device's rows as NDJSON.
	access := "d0ffee00-d5d6-44b2-9831-815ac9017798"
	body["subject_request_id"], body["subject_request_type"] = access, "access"
	body["subject_identities"] = []map[string]string{{"identity_type": "android_advertising_id", "identity_value": otherGAID, "identity_format": "raw"}}
	delete(body, "status_callback_urls")
	if code, resp, _ := call(t, "POST", d.apiURL()+"/api/apps/"+app.ID+"/opendsr/requests", server, body); code != 201 {
		t.Fatalf("access request: %d %s", code, resp)
	}
	st = waitCompleted(access)
	results, _ := st["results_url"].(string)
	if st["results_count"] != 4.0 || !strings.HasSuffix(results, "/opendsr/requests/"+access+"/results") {
		t.Errorf("access status: %v, want 4 rows (2 events, 1 install, 1 touchpoint) and its results URL", st)
	}
	code, file, h := call(t, "GET", d.apiURL()+"/api/apps/"+app.ID+"/opendsr/requests/"+access+"/results", server, nil)
	if code != 200 || h.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("results: %d %s", code, file)
	}
	kinds := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(file))
	for sc.Scan() {
		var row map[string]any
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatalf("results line %q: %v", sc.Bytes(), err)
		}
		kinds[row["kind"].(string)]++
	}
	if kinds["event"] != 2 || kinds["install"] != 1 || kinds["touchpoint"] != 1 || bytes.Contains(file, []byte(victim)) {
		t.Errorf("access file: %v rows by kind, want 2 events, 1 install, 1 touchpoint, none of the erased device:\n%s", kinds, file)
	}

	// Last, as it may stop the processes: the store holds no event of the device.
	if evs := d.events(t, unmogrowp.EventFilter{AppID: app.ID, DeviceID: victim}); len(evs) != 0 {
		t.Errorf("a later event of the erased device was stored: %+v", evs)
	}
}
