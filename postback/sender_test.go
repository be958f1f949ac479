package postback

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/testenv"
)

// receiver is a real HTTP server on loopback that records what it receives and answers
// with the statuses it is given, one per request (the last one repeats).
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	got      []received
}

// received is one request as the receiver saw it.
type received struct {
	method, rawQuery, path string
	header                 http.Header
	body                   []byte
	at                     time.Time
}

func newReceiver(t testing.TB, statuses ...int) *receiver {
	r := &receiver{statuses: statuses}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{req.Method, req.URL.RawQuery, req.URL.EscapedPath(), req.Header.Clone(), body, time.Now()})
		status := http.StatusOK
		if len(r.statuses) > 0 {
			status = r.statuses[0]
			if len(r.statuses) > 1 {
				r.statuses = r.statuses[1:]
			}
		}
		r.mu.Unlock()
		if status/100 == 3 {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// testDelivery returns a delivery to the URL.
func testDelivery(id, rawURL string) unmogrowp.Delivery {
	u, _ := http.NewRequest("GET", rawURL, nil)
	now := time.Now()
	return unmogrowp.Delivery{
		ID: id, PostbackID: "pb", AppID: "app-1", ActivityKind: unmogrowp.TriggerInstall, Status: unmogrowp.DeliveryPending,
		URL: rawURL, Host: u.URL.Host, Method: "GET", CreatedAt: now, NextAttemptAt: now,
	}
}

func TestSenderEscapingAndSignature(t *testing.T) {
	rcv := newReceiver(t)
	p := compile(t, unmogrowp.Postback{
		ID: "pb", Name: "net", MediaSource: "net", Method: "POST",
		URLTemplate:  rcv.URL + "/pb/{site_id}?campaign={campaign}&clickid={click_id}",
		BodyTemplate: `{"campaign":"{campaign}"}`,
		Headers:      map[string]string{"X-Campaign": "{campaign}"},
	})
	src := sampleSource()
	src.Touch.Campaign, src.Touch.SiteID = "a b&c", "x/y"
	d := p.Delivery(src, time.Now())
	const secret = "s3cret-not-in-errors"
	o := NewSender(SenderOptions{AllowPrivate: true}).Send(context.Background(), &d, secret)
	if o.Result != Delivered || o.HTTPStatus != 200 || o.Error != "" {
		t.Fatalf("outcome = %+v", o)
	}
	got := rcv.requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests", len(got))
	}
	r := got[0]
	if r.rawQuery != "campaign=a%20b%26c&clickid=nclk-tp-1" || r.path != "/pb/x%2Fy" || r.method != "POST" {
		t.Fatalf("request %s %s?%s", r.method, r.path, r.rawQuery)
	}
	if string(r.body) != `{"campaign":"a b&c"}` || r.header.Get("Content-Type") != "application/json" || r.header.Get("X-Campaign") != "a b&c" {
		t.Fatalf("body %s, headers %v", r.body, r.header)
	}
	// The receiver checks the signature as the spec tells it: HMAC-SHA256 of "<ts>.<body>".
	ts := r.header.Get(HeaderTimestamp)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(r.body)))
	if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); r.header.Get(HeaderSignature) != want {
		t.Fatalf("signature %q, want %q", r.header.Get(HeaderSignature), want)
	}
	if n, err := strconv.ParseInt(ts, 10, 64); err != nil || time.Since(time.Unix(n, 0)) > time.Minute {
		t.Fatalf("timestamp %q", ts)
	}
	if r.header.Get(HeaderDeliveryID) != d.ID || d.ID == "" {
		t.Fatalf("delivery id header %q, want %q", r.header.Get(HeaderDeliveryID), d.ID)
	}
	// Without a secret: no signature, the delivery id still.
	NewSender(SenderOptions{AllowPrivate: true}).Send(context.Background(), &d, "")
	if h := rcv.requests()[1].header; h.Get(HeaderSignature) != "" || h.Get(HeaderTimestamp) != "" || h.Get(HeaderDeliveryID) != d.ID {
		t.Fatalf("unsigned request headers %v", h)
	}
}

func TestSenderOutcomes(t *testing.T) {
	s := NewSender(SenderOptions{AllowPrivate: true, Timeout: 300 * time.Millisecond})
	for _, c := range []struct {
		status int
		result string
		err    string
	}{
		{200, Delivered, ""},
		{204, Delivered, ""},
		{302, Failed, "The destination answered 302 Found: redirects are not followed."},
		{400, Failed, "The destination answered 400 Bad Request."},
		{404, Failed, "The destination answered 404 Not Found."},
		{408, Retry, "The destination answered 408 Request Timeout."},
		{429, Retry, "The destination answered 429 Too Many Requests."},
		{500, Retry, "The destination answered 500 Internal Server Error."},
		{503, Retry, "The destination answered 503 Service Unavailable."},
	} {
		rcv := newReceiver(t, c.status)
		d := testDelivery("d", rcv.URL+"/pb")
		o := s.Send(context.Background(), &d, "secret")
		if o.Result != c.result || o.HTTPStatus != c.status || o.Error != c.err {
			t.Errorf("%d: outcome %+v, want %s %q", c.status, o, c.result, c.err)
		}
		if n := len(rcv.requests()); n != 1 {
			t.Errorf("%d: receiver got %d requests, want 1 (no redirect followed)", c.status, n)
		}
	}

	t.Run("timeout", func(t *testing.T) {
		stuck := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-stuck:
			case <-r.Context().Done():
			}
		}))
		defer srv.Close()
		defer close(stuck)
		d := testDelivery("d", srv.URL)
		start := time.Now()
		o := s.Send(context.Background(), &d, "")
		if o.Result != Retry || o.HTTPStatus != 0 || o.Error != "The destination did not answer within 300ms." {
			t.Fatalf("outcome %+v", o)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("the attempt took %v, past its timeout", took)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		d := testDelivery("d", "http://"+addr+"/pb")
		o := s.Send(context.Background(), &d, "secret")
		if o.Result != Retry || !strings.HasPrefix(o.Error, "Could not connect to the destination: ") || strings.Contains(o.Error, "secret") {
			t.Fatalf("outcome %+v", o)
		}
	})
	t.Run("aborted", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		d := testDelivery("d", newReceiver(t).URL)
		if o := s.Send(ctx, &d, ""); o.Result != Aborted {
			t.Fatalf("outcome %+v", o)
		}
	})
}

// The dialer refuses loopback unless AllowPrivate, by the address dialled: a name that
// resolves to it is refused too.
func TestSenderRefusesPrivate(t *testing.T) {
	rcv := newReceiver(t)
	port := rcv.URL[strings.LastIndex(rcv.URL, ":")+1:]
	s := NewSender(SenderOptions{})
	for _, u := range []string{rcv.URL + "/pb", "http://localhost:" + port + "/pb"} {
		d := testDelivery("d", u)
		o := s.Send(context.Background(), &d, "")
		if o.Result != Refused || o.HTTPStatus != 0 || !strings.Contains(o.Error, "a loopback address") {
			t.Fatalf("%s: outcome %+v, want refused as loopback", u, o)
		}
	}
	if n := len(rcv.requests()); n != 0 {
		t.Fatalf("the receiver got %d requests through a refusing dialer", n)
	}
	d := testDelivery("d", rcv.URL+"/pb")
	if o := NewSender(SenderOptions{AllowPrivate: true}).Send(context.Background(), &d, ""); o.Result != Delivered {
		t.Fatalf("with AllowPrivate: %+v", o)
	}
}

func TestBlockedReason(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1": "loopback", "::1": "loopback", "::ffff:127.0.0.1": "loopback",
		"10.1.2.3": "private", "172.16.0.1": "private", "192.168.1.1": "private", "fd00::1": "private",
		"100.64.0.1": "private", "169.254.169.254": "link-local", "fe80::1": "link-local",
		"0.0.0.0": "unspecified", "::": "unspecified", "0.1.2.3": "unspecified", "224.0.0.1": "link-local", "239.1.2.3": "multicast",
		"ff02::1": "link-local", "ff05::1": "multicast", "255.255.255.255": "reserved", "198.18.0.1": "reserved",
		"64:ff9b::a00:1": "private", "2002:7f00:1::": "loopback",
		"8.8.8.8": "", "2001:4860:4860::8888": "", "93.184.216.34": "", "64:ff9b::808:808": "",
	} {
		if got := BlockedReason(netip.MustParseAddr(addr)); got != want {
			t.Errorf("BlockedReason(%s) = %q, want %q", addr, got, want)
		}
	}
}

// BenchmarkSend measures one process's deliveries per second to a fast local receiver, 64
// attempts in flight, and its CPU (sender and receiver) per delivery.
func BenchmarkSend(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	s := NewSender(SenderOptions{AllowPrivate: true, MaxConnsPerHost: 64})
	p := compile(b, unmogrowp.Postback{
		ID: "pb", Name: "net", MediaSource: "net",
		URLTemplate: srv.URL + "/pb?clickid={click_id}&c={campaign}&gaid={gaid}&ts={install_unix_ts}",
	})
	d := p.Delivery(sampleSource(), time.Now())
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	cpu := testenv.ProcessCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if o := s.Send(context.Background(), &d, "secret"); o.Result != Delivered {
				b.Errorf("outcome %+v", o)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
	b.ReportMetric(float64((testenv.ProcessCPU()-cpu).Microseconds())/float64(b.N), "cpu-µs/delivery")
}
