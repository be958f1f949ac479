package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// hangingReceiver is an HTTP server on loopback that never answers: each request is held
// until the test ends.
type hangingReceiver struct {
	*httptest.Server
	requests atomic.Int64
}

func newHangingReceiver(t *testing.T) *hangingReceiver {
	done := make(chan struct{})
	h := &hangingReceiver{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.requests.Add(1)
		select {
		case <-done:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(done); h.Close() })
	return h
}

// runConsent checks the device-level consent (DATA.md, "Consent") on a running deployment:
// net_c gets dev7's install; after dev7 sends third_party_sharing false on a session, its
// purchase is withheld from net_c (processed in a batch of its own: the device is
// remembered), and both listeners' attribution objects say third_party_sharing false;
// after a session with true, the next purchase is sent.
func runConsent(t *testing.T, d deployment, app appKeys, recv *receiver) {
	server := map[string]string{"X-Api-Key": app.ServerKey}
	gaid := "38400000-8cf0-11bd-b23e-000000000007"
	at := time.Now().Add(time.Minute).Truncate(time.Second)
	sendTouch(t, d, app, map[string]any{"type": "click", "media_source": "net_c", "gaid": gaid, "timestamp": at.Add(-time.Hour).Unix()})
	d.waitDrained(t)
	ev := func(typ string, i int, extra map[string]any) []map[string]any {
		e := map[string]any{"event_type": typ, "device_id": "dev7", "gaid": gaid, "platform": "android", "timestamp": at.Add(time.Duration(i) * time.Minute).Unix()}
		for k, v := range extra {
			e[k] = v
		}
		return []map[string]any{e}
	}
	sendEvents(t, d, server, ev("install", 0, nil))
	recv.wait(t, "/consent", 1, 10*time.Second)
	d.waitDrained(t) // the postback is enqueued before the hot state learns the install
	sharing := func(want bool) {
		t.Helper()
		if got := attributionOf(t, d, app, "dev7"); got.NoSharing == want || got.MediaSource != "net_c" {
			t.Errorf("GET /v1/attribution of dev7: %s, third_party_sharing %v; want net_c, %v", got.MediaSource, !got.NoSharing, want)
		}
		code, resp, _ := call(t, "GET", d.apiURL()+"/api/apps/"+app.ID+"/attribution/dev7", map[string]string{"X-Api-Key": app.ServerKey}, nil)
		var obj map[string]any
		if err := json.Unmarshal(resp, &obj); code != 200 || err != nil || obj["third_party_sharing"] != want {
			t.Errorf("GET /api/apps/{app_id}/attribution/dev7: %d %s; want third_party_sharing %v", code, resp, want)
		}
	}
	sharing(true)

	sendEvents(t, d, server, ev("session", 1, map[string]any{"third_party_sharing": false}))
	d.waitDrained(t)
	sendEvents(t, d, server, ev("purchase", 2, map[string]any{"revenue": 1, "currency": "USD"}))
	d.waitDrained(t)
	sharing(false)
	sendEvents(t, d, server, append(ev("session", 3, map[string]any{"third_party_sharing": true}),
		ev("purchase", 4, map[string]any{"revenue": 2, "currency": "USD"})...))
	d.waitDrained(t)
	sharing(true)
	recv.wait(t, "/consent", 2, 10*time.Second)
	time.Sleep(time.Second) // long enough for a withheld postback to show, were it sent
	var got []string
	for _, g := range recv.at("/consent") {
		got = append(got, g.query.Get("k")+" rev="+g.query.Get("rev"))
	}
	if fmt.Sprint(got) != "[install rev= event rev=2]" {
		t.Errorf("net_c got %q; want dev7's install and its purchase after consent came back, not the one while it was withdrawn", got)
	}
}

// runIsolation checks that a destination that never answers does not slow another's
// deliveries: n installs of net_hang's devices (whose receiver holds every request) and n
// of net_fast's, sent together, net_hang's first; net_fast's receiver gets all of its
// postbacks within a few seconds.
func runIsolation(t *testing.T, d deployment, app appKeys, recv *receiver, hang *hangingReceiver) {
	const n = 40
	server := map[string]string{"X-Api-Key": app.ServerKey}
	at := time.Now().Add(time.Minute).Truncate(time.Second)
	gaid := func(i int) string { return fmt.Sprintf("38400000-8cf0-11bd-b23e-%012d", 1000+i) }
	var touches, installs []map[string]any
	for i := range 2 * n {
		media := "net_hang"
		if i >= n {
			media = "net_fast"
		}
		touches = append(touches, map[string]any{"type": "click", "media_source": media, "gaid": gaid(i), "timestamp": at.Add(-time.Hour).Unix()})
		installs = append(installs, map[string]any{"event_type": "install", "device_id": fmt.Sprintf("iso%d", i), "gaid": gaid(i), "platform": "android", "timestamp": at.Unix()})
	}
	code, resp, _ := call(t, "POST", d.ingestURL()+"/v1/touchpoints", server, map[string]any{"touchpoints": touches})
	if code != 200 {
		t.Fatalf("POST /v1/touchpoints: %d %s", code, resp)
	}
	d.waitDrained(t)
	sent := time.Now()
	sendEvents(t, d, server, installs)
	got := recv.wait(t, "/fast", n, 5*time.Second)
	t.Logf("net_fast got its %d postbacks %s after the installs were acknowledged, while net_hang held %d requests",
		len(got), got[n-1].at.Sub(sent).Round(time.Millisecond), hang.requests.Load())
	devs := map[string]bool{}
	for _, g := range got {
		devs[g.query.Get("dev")] = true
	}
	if len(devs) != n {
		t.Errorf("net_fast got postbacks for %d devices, want %d", len(devs), n)
	}
	if hang.requests.Load() == 0 {
		t.Errorf("net_hang's receiver got no request: the test did not make a destination hang")
	}
}
