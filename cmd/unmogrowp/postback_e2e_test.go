package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/metadata"
)

// postbackEnv is the configuration the postback tests run the processes with: loopback
// receivers are allowed, and retries come after a second (long enough to kill a process
// between two attempts, short enough for three attempts in a test).
var postbackEnv = []string{"POSTBACK_ALLOW_PRIVATE=true", "POSTBACK_RETRY_DELAYS=1s,1s,1s"}

// received is one request a receiver got.
type received struct {
	at      time.Time
	method  string
	path    string
	query   url.Values
	raw     string // the query as sent
	header  http.Header
	body    []byte
	answer  int
	sigOK   bool // the signature verified with the postback's secret, when there is one
	hasSign bool
}

// receiver is an HTTP server on loopback that records every request and answers with the
// status its path's script gives for the n-th request there (200 past the script's end).
type receiver struct {
	srv     *httptest.Server
	secret  string
	mu      sync.Mutex
	got     []received
	scripts map[string][]int
	hold    map[string]bool // paths answered 500 until released
}

func newReceiver(t *testing.T, secret string) *receiver {
	r := &receiver{secret: secret, scripts: map[string][]int{}, hold: map[string]bool{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	rec := received{at: time.Now(), method: req.Method, path: req.URL.Path, query: req.URL.Query(), raw: req.URL.RawQuery, header: req.Header.Clone(), body: body}
	if sig := req.Header.Get("X-UnMoGrowP-Signature"); sig != "" {
		rec.hasSign = true
		mac := hmac.New(sha256.New, []byte(r.secret))
		mac.Write([]byte(req.Header.Get("X-UnMoGrowP-Timestamp") + "." + string(body)))
		ts, err := strconv.ParseInt(req.Header.Get("X-UnMoGrowP-Timestamp"), 10, 64)
		rec.sigOK = err == nil && hmac.Equal([]byte(sig), []byte("sha256="+hex.EncodeToString(mac.Sum(nil)))) &&
			time.Since(time.Unix(ts, 0)).Abs() < time.Minute
	}
	r.mu.Lock()
	n := 0
	for _, g := range r.got {
		if g.path == rec.path {
			n++
		}
	}
	rec.answer = 200
	if script := r.scripts[rec.path]; n < len(script) {
		rec.answer = script[n]
	}
	if r.hold[rec.path] {
		rec.answer = 500
	}
	r.got = append(r.got, rec)
	r.mu.Unlock()
	w.WriteHeader(rec.answer)
}

// at returns the requests made to path so far.
func (r *receiver) at(path string) []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []received
	for _, g := range r.got {
		if g.path == path {
			out = append(out, g)
		}
	}
	return out
}

// wait waits until path has had n requests, and fails after deadline.
func (r *receiver) wait(t *testing.T, path string, n int, deadline time.Duration) []received {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		got := r.at(path)
		if len(got) >= n {
			return got
		}
		if time.Now().After(end) {
			r.mu.Lock()
			for _, g := range r.got {
				t.Logf("got %s %s?%s: %d", g.method, g.path, g.raw, g.answer)
			}
			r.mu.Unlock()
			t.Fatalf("%s got %d requests in %s, want %d", path, len(got), deadline, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// metaURL is the URL of the deployment's metadata store, as metadata.Open takes it.
func metaURL(d deployment) string {
	switch d := d.(type) {
	case *embedded:
		return metadata.SQLiteURL(filepath.Join(d.dir, "metadata.db"))
	case *split:
		return d.pgURL
	}
	return ""
}

// openMeta opens the deployment's metadata store from the test, next to its processes,
// until the test ends.
func openMeta(t *testing.T, d deployment) *metadata.DB {
	t.Helper()
	db, err := metadata.Open(context.Background(), metaURL(d), metadata.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestPostbacks runs the postback scenarios on `unmogrowp serve`.
func TestPostbacks(t *testing.T) {
	d := newEmbedded(t)
	runPostbacks(t, d, func(t *testing.T) { d.p = startServe(t, d.dir, postbackEnv...) }, func(t *testing.T) {
		d.p.kill9(t)
		d.p = startServe(t, d.dir, postbackEnv...)
	})
	// The restarted process made the delivery after the kill: its metrics count it.
	if n := d.p.metric(t, "unmogrowp_postback_latency_seconds_count"); n != 1 {
		t.Errorf("unmogrowp_postback_latency_seconds counts %v deliveries since the restart, want 1", n)
	}
}

// TestSplitPostbacks runs them on the split deployment, where both consumers deliver from
// the outbox in PostgreSQL.
func TestSplitPostbacks(t *testing.T) {
	d := newSplit(t)
	d.env = append(d.env, postbackEnv...)
	runPostbacks(t, d, d.start, func(t *testing.T) {
		for i := range d.consumers {
			d.consumers[i].kill9(t)
		}
		for i := range d.consumers {
			d.consumers[i] = d.startConsumer(t)
		}
	})
	// One of the restarted consumers made the delivery after the kill: its metrics count it.
	n := 0.0
	for _, c := range d.consumers {
		n += c.metric(t, "unmogrowp_postback_latency_seconds_count")
	}
	if n != 1 {
		t.Errorf("the consumers' unmogrowp_postback_latency_seconds count %v deliveries since the restart, want 1", n)
	}
}

// runPostbacks configures postbacks in the metadata store (the API's routes come later),
// calls start, then plays installs and events through the ingestion listener and checks
// what each receiver gets: POSTBACKS.md's triggers, escaping, retries, signatures; then
// kills the processes that deliver (kill) between two attempts of a delivery, which is
// still made once.
func runPostbacks(t *testing.T, d deployment, start, kill func(*testing.T)) {
	ctx := context.Background()
	app := d.createApp(t, "Postbacks")
	recv := newReceiver(t, "s3cret-net-a")
	recv.scripts["/retry"] = []int{500, 500, 200}
	recv.scripts["/gone"] = []int{404}
	hang := newHangingReceiver(t)
	meta := openMeta(t, d)
	pbs := map[string]*unmogrowp.Postback{}
	for _, p := range []*unmogrowp.Postback{
		{Name: "net_a", MediaSource: "net_a", Triggers: []string{"install", "event"}, EventTypes: []string{"purchase"},
			URLTemplate: recv.srv.URL + "/net_a?k={activity_kind}&click={click_id}&c={campaign}&gaid={gaid}&rev={event_revenue}&id={delivery_id}",
			Secret:      "s3cret-net-a"},
		{Name: "all", MediaSource: "net_b", SendAll: true, URLTemplate: recv.srv.URL + "/all?k={activity_kind}&src={media_source}&dev={device_id}"},
		{Name: "inject", MediaSource: "net_inject", Triggers: []string{"install", "rejected_install"},
			URLTemplate: recv.srv.URL + "/inject?k={activity_kind}&reason={reject_reason}&v={reject_reason_value}&dev={device_id}"},
		{Name: "retry", MediaSource: "net_retry", URLTemplate: recv.srv.URL + "/retry?dev={device_id}"},
		{Name: "gone", MediaSource: "net_gone", URLTemplate: recv.srv.URL + "/gone?dev={device_id}"},
		{Name: "crash", MediaSource: "net_crash", URLTemplate: recv.srv.URL + "/crash?dev={device_id}"},
		{Name: "consent", MediaSource: "net_c", Triggers: []string{"install", "event"}, EventTypes: []string{"purchase"},
			URLTemplate: recv.srv.URL + "/consent?k={activity_kind}&dev={device_id}&rev={event_revenue}"},
		{Name: "hang", MediaSource: "net_hang", URLTemplate: hang.URL + "/hang?dev={device_id}"},
		{Name: "fast", MediaSource: "net_fast", URLTemplate: recv.srv.URL + "/fast?dev={device_id}"},
	} {
		p.AppID, p.Enabled = app.ID, true
		if err := meta.CreatePostback(ctx, p); err != nil {
			t.Fatal(err)
		}
		pbs[p.Name] = p
	}
	start(t)
	server := map[string]string{"X-Api-Key": app.ServerKey}
	gaid := func(n int) string { return "38400000-8cf0-11bd-b23e-00000000000" + strconv.Itoa(n) }

	// net_a's click through a tracking link, with its click id and the GAID.
	code, resp, _ := call(t, "POST", d.apiURL()+"/api/apps/"+app.ID+"/links", server, map[string]any{
		"media_source": "net_a", "campaign": "a b&c", "android_url": "https://play.google.com/store/apps/details?id=com.example",
	})
	var link struct {
		ClickURL string `json:"click_url"`
	}
	if err := json.Unmarshal(resp, &link); code != 201 || err != nil {
		t.Fatalf("create link: %d %s", code, resp)
	}
	if code, resp, _ := call(t, "GET", link.ClickURL+"?clickid=net-click-1&gaid="+gaid(1), map[string]string{"User-Agent": androidUA}, nil); code != http.StatusFound {
		t.Fatalf("click: %d %s", code, resp)
	}
	base := time.Now().Add(time.Minute).Truncate(time.Second) // the installs' time: a minute after the click
	// The other networks' clicks, server to server; net_inject's 5 s before the install.
	for _, tc := range []struct {
		media string
		dev   int
		ago   time.Duration
	}{{"net_inject", 3, 5 * time.Second}, {"net_retry", 4, time.Hour}, {"net_gone", 5, time.Hour}} {
		sendTouch(t, d, app, map[string]any{"type": "click", "media_source": tc.media, "campaign": "c",
			"gaid": gaid(tc.dev), "timestamp": base.Add(-tc.ago).Unix()})
	}
	d.waitDrained(t)

	var events []map[string]any
	for dev := 1; dev <= 5; dev++ {
		events = append(events, map[string]any{"event_type": "install", "device_id": "dev" + strconv.Itoa(dev),
			"gaid": gaid(dev), "platform": "android", "timestamp": base.Unix()})
	}
	events = append(events,
		map[string]any{"event_type": "purchase", "device_id": "dev1", "revenue": 4.99, "currency": "USD", "timestamp": base.Add(time.Minute).Unix()},
		map[string]any{"event_type": "level_up", "device_id": "dev1", "timestamp": base.Add(2 * time.Minute).Unix()})
	sent := time.Now()
	sendEvents(t, d, server, events)

	// net_a: its install within 5 s, once, macros expanded and escaped, signed.
	got := recv.wait(t, "/net_a", 1, 5*time.Second)
	t.Logf("net_a's install postback came %s after the install was acknowledged", got[0].at.Sub(sent).Round(time.Millisecond))
	d.waitDrained(t)
	got = recv.wait(t, "/net_a", 2, 10*time.Second)
	byKind := map[string]received{}
	for _, g := range got {
		byKind[g.query.Get("k")] = g
		if g.method != "GET" || !g.hasSign || !g.sigOK || g.header.Get("X-UnMoGrowP-Delivery-Id") != g.query.Get("id") {
			t.Errorf("net_a request %s %v: signed %v, verified %v, delivery id header %q", g.method, g.query, g.hasSign, g.sigOK, g.header.Get("X-UnMoGrowP-Delivery-Id"))
		}
	}
	inst, buy := byKind["install"], byKind["event"]
	if inst.query.Get("click") != "net-click-1" ||
		inst.query.Get("gaid") != gaid(1) || inst.query.Get("c") != "a b&c" {
		t.Errorf("net_a's install postback: %v", inst.query)
	}
	if buy.query.Get("rev") != "4.99" || buy.query.Get("click") != "net-click-1" {
		t.Errorf("net_a's purchase postback: %v", buy.query)
	}
	// The escaping, as sent: a%20b%26c.
	for _, g := range got {
		if !strings.Contains(g.raw, "c=a%20b%26c") {
			t.Errorf("campaign sent as %q, want c=a%%20b%%26c", g.raw)
		}
	}

	// send_all: every install, organic dev2 included; net_inject: one rejected_install and
	// no install; 500, 500, 200: three attempts of one delivery; 404: failed after one.
	all := recv.wait(t, "/all", 5, 10*time.Second)
	recv.wait(t, "/inject", 1, 10*time.Second)
	recv.wait(t, "/retry", 3, 15*time.Second)
	recv.wait(t, "/gone", 1, 10*time.Second)
	time.Sleep(2500 * time.Millisecond) // long enough for a wrong retry or an extra postback to show

	if got := recv.at("/net_a"); len(got) != 2 {
		t.Errorf("net_a got %d postbacks, want its install and its purchase (not the level_up, not the organic install)", len(got))
	}
	devs := map[string]bool{}
	for _, g := range recv.at("/all") {
		devs[g.query.Get("dev")] = true
	}
	if len(recv.at("/all")) != 5 || len(devs) != 5 || !devs["dev2"] {
		t.Errorf("the send_all postback got %d requests for %v, want one per install, the organic dev2's included", len(all), devs)
	}
	if inj := recv.at("/inject"); len(inj) != 1 || inj[0].query.Get("k") != "rejected_install" ||
		inj[0].query.Get("reason") != "click_injection" || inj[0].query.Get("v") != "5" || inj[0].query.Get("dev") != "dev3" {
		t.Errorf("net_inject got %d requests, first %v; want one rejected_install with reason click_injection and value 5", len(inj), inj[0].query)
	}
	if retries := recv.at("/retry"); len(retries) != 3 {
		t.Errorf("the retried postback was attempted %d times, want 3", len(retries))
	} else {
		id := retries[0].header.Get("X-UnMoGrowP-Delivery-Id")
		for _, g := range retries {
			if g.header.Get("X-UnMoGrowP-Delivery-Id") != id || id == "" {
				t.Errorf("retries carry delivery ids %q and %q, want one", id, g.header.Get("X-UnMoGrowP-Delivery-Id"))
			}
		}
		if gap := retries[1].at.Sub(retries[0].at); gap < 900*time.Millisecond {
			t.Errorf("the first retry came %s after the attempt, want POSTBACK_RETRY_DELAYS' 1s", gap)
		}
	}
	if gone := recv.at("/gone"); len(gone) != 1 {
		t.Errorf("the 404 postback was attempted %d times, want 1", len(gone))
	}
	for name, want := range map[string]struct {
		status   string
		attempts int
		last     int
	}{"retry": {unmogrowp.DeliveryDelivered, 3, 200}, "gone": {unmogrowp.DeliveryFailed, 1, 404}, "net_a": {unmogrowp.DeliveryDelivered, 1, 200}} {
		ds, _, err := meta.List(ctx, unmogrowp.DeliveryFilter{AppID: app.ID, PostbackID: pbs[name].ID})
		if err != nil {
			t.Fatal(err)
		}
		for _, dl := range ds {
			if dl.Status != want.status || dl.Attempts != want.attempts || dl.LastStatus != want.last {
				t.Errorf("%s's delivery %s: %s after %d attempts, last %d (%q); want %s after %d, last %d",
					name, dl.ActivityKind, dl.Status, dl.Attempts, dl.LastStatus, dl.LastError, want.status, want.attempts, want.last)
			}
		}
		if len(ds) == 0 {
			t.Errorf("%s has no delivery in the outbox", name)
		}
	}

	runConsent(t, d, app, recv)
	runIsolation(t, d, app, recv, hang)

	// The delivering processes are killed between two attempts: the delivery is still
	// made, once, by the processes started again.
	recv.mu.Lock()
	recv.hold["/crash"] = true
	recv.mu.Unlock()
	sendTouch(t, d, app, map[string]any{"type": "click", "media_source": "net_crash", "gaid": gaid(6), "timestamp": base.Unix()})
	d.waitDrained(t)
	sendEvents(t, d, server, []map[string]any{{"event_type": "install", "device_id": "dev6", "gaid": gaid(6), "timestamp": base.Add(time.Minute).Unix()}})
	recv.wait(t, "/crash", 1, 10*time.Second)
	waitFor(t, "the first attempt recorded", func() bool {
		ds, _, err := meta.List(ctx, unmogrowp.DeliveryFilter{AppID: app.ID, PostbackID: pbs["crash"].ID})
		return err == nil && len(ds) == 1 && ds[0].Attempts >= 1
	})
	kill(t)
	killedAt := time.Now()
	recv.mu.Lock()
	recv.hold["/crash"] = false
	recv.mu.Unlock()
	var ok []received
	waitFor(t, "the delivery after the restart", func() bool {
		ok = nil
		for _, g := range recv.at("/crash") {
			if g.answer == 200 {
				ok = append(ok, g)
			}
		}
		return len(ok) > 0
	})
	time.Sleep(2500 * time.Millisecond)
	crash := recv.at("/crash")
	ids := map[string]bool{}
	for _, g := range crash {
		ids[g.header.Get("X-UnMoGrowP-Delivery-Id")] = true
	}
	delivered := 0
	for _, g := range crash {
		if g.answer == 200 {
			delivered++
			if g.at.Before(killedAt) {
				t.Errorf("delivered before the kill")
			}
		}
	}
	if delivered != 1 || len(ids) != 1 {
		t.Errorf("after the kill: %d requests with %d delivery ids, %d answered 200; want one delivery id, delivered once", len(crash), len(ids), delivered)
	}
}

// waitFor waits until cond holds, failing after 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
