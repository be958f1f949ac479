package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/postback"
)

// deliveries is a postback receiver on loopback that records every attempt by its
// delivery id (postback.HeaderDeliveryID) and device. It answers 500 to the first attempt
// of about a quarter of the deliveries (those whose id ends in 0 to 3), so that retries
// happen under the faults too, and 200 otherwise.
type deliveries struct {
	srv      *httptest.Server
	mu       sync.Mutex
	answers  map[string][]int  // by delivery id, in the order answered
	deviceOf map[string]string // delivery id -> the device in its URL
}

func newDeliveries(t *testing.T) *deliveries {
	r := &deliveries{answers: map[string][]int{}, deviceOf: map[string]string{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		id := req.Header.Get(postback.HeaderDeliveryID)
		r.mu.Lock()
		code := 200
		if len(r.answers[id]) == 0 && id != "" && id[len(id)-1] <= '3' {
			code = 500
		}
		r.answers[id] = append(r.answers[id], code)
		r.deviceOf[id] = req.URL.Query().Get("dev")
		r.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// addFaultPostback configures, in the metadata store, an install postback of the load's
// media source (net_fault) to r.
func addFaultPostback(t *testing.T, d *split, appID string, r *deliveries) {
	t.Helper()
	p := &unmogrowp.Postback{Name: "faults", MediaSource: "net_fault", AppID: appID, Enabled: true,
		URLTemplate: r.srv.URL + "/install?dev={device_id}&id={delivery_id}"}
	if err := openMeta(t, d).CreatePostback(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

// checkDelivered checks, once the consumers drained, that every install ClickHouse holds
// as net_fault's had its postback delivered, and that each delivery was attempted once per
// attempt: an attempt the receiver answered 2xx is never made again, each device has one
// delivery id, and no delivery is for an install not decided. It waits up to 30 s for the
// last deliveries and retries.
func checkDelivered(t *testing.T, d *split, appID string, r *deliveries) {
	t.Helper()
	conn := drainedClickHouse(t, d)
	installs := countBy(t, conn, "SELECT device_id, count() FROM installs FINAL WHERE app_id = $1 AND media_source = 'net_fault' GROUP BY device_id", appID)
	if len(installs) == 0 {
		t.Fatalf("no install was attributed to net_fault: the postback had nothing to deliver; installs by source: %v",
			countBy(t, conn, "SELECT concat(media_source, '/', match_type), count() FROM installs FINAL WHERE app_id = $1 GROUP BY media_source, match_type", appID))
	}
	var missing []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		delivered := map[string]bool{}
		r.mu.Lock()
		for id, answers := range r.answers {
			if answers[len(answers)-1] < 300 {
				delivered[r.deviceOf[id]] = true
			}
		}
		r.mu.Unlock()
		missing = missing[:0]
		for dev := range installs {
			if !delivered[dev] {
				missing = append(missing, dev)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // past a retry delay: a repeated attempt would show

	r.mu.Lock()
	defer r.mu.Unlock()
	ids := map[string][]string{} // by device
	attempts, retried := 0, 0
	var repeated, undecided []string
	for id, answers := range r.answers {
		attempts += len(answers)
		if len(answers) > 1 {
			retried++
		}
		ids[r.deviceOf[id]] = append(ids[r.deviceOf[id]], id)
		for i, code := range answers[:len(answers)-1] {
			if code < 300 {
				repeated = append(repeated, fmt.Sprintf("%s: answered %d at attempt %d of %v", id, code, i+1, answers))
			}
		}
		if installs[r.deviceOf[id]] == 0 {
			undecided = append(undecided, r.deviceOf[id])
		}
	}
	var twice []string
	for dev, list := range ids {
		if len(list) > 1 {
			twice = append(twice, fmt.Sprintf("%s: %v", dev, list))
		}
	}
	slices.Sort(missing)
	t.Logf("%d net_fault installs, %d deliveries in %d attempts (%d retried after a 500)", len(installs), len(r.answers), attempts, retried)
	if len(missing) > 0 {
		t.Errorf("%d installs of net_fault without a delivered postback 30 s after the consumers drained: %q", len(missing), first(missing))
	}
	if len(repeated) > 0 {
		t.Errorf("%d deliveries attempted again after a 2xx answer: %q", len(repeated), first(repeated))
	}
	if len(twice) > 0 {
		t.Errorf("%d devices with more than one delivery of their install: %q", len(twice), first(twice))
	}
	if len(undecided) > 0 {
		t.Errorf("%d deliveries for installs ClickHouse does not hold as net_fault's: %q", len(undecided), first(undecided))
	}
	if retried == 0 {
		t.Error("no delivery was retried: the receiver's 500s did not reach the outbox")
	}
}
