// Package postbacktest is the conformance suite of unmogrowp.Outbox: every outbox (package
// inmem, and the stores that keep one) runs it from its own tests against a real engine,
// so that any number of delivery workers may share any of them.
package postbacktest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// Run runs the suite, its subtests in parallel. open must return a fresh, empty outbox,
// isolated from every other one, for each call and arrange for it to be closed when the
// test ends (t.Cleanup). Times given to the outbox are whole
// milliseconds, which every store keeps exactly.
func Run(t *testing.T, open func(t *testing.T) unmogrowp.Outbox) {
	tests := []struct {
		name string
		fn   func(*testing.T, unmogrowp.Outbox)
	}{
		{"RoundTrip", testRoundTrip},
		{"EnqueueIdempotent", testEnqueueIdempotent},
		{"EnqueueInvalid", testEnqueueInvalid},
		{"ClaimDue", testClaimDue},
		{"ClaimLease", testClaimLease},
		{"ClaimConcurrent", testClaimConcurrent},
		{"ClaimHosts", testClaimHosts},
		{"CompleteRetry", testCompleteRetry},
		{"CompleteErrors", testCompleteErrors},
		{"List", testList},
		{"Canceled", testCanceled},
		{"Prune", testPrune},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { t.Parallel(); tc.fn(t, open(t)) }) // an outbox each
	}
}

// base is the suite's clock at its start: a whole second.
var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const lease = time.Minute

// delivery returns the i-th delivery of the fixtures, of postback pb-<i%2> of app-1,
// created and due at base + i ms, to host h<i%3>.example.
func delivery(i int) unmogrowp.Delivery {
	at := base.Add(time.Duration(i) * time.Millisecond)
	host := fmt.Sprintf("h%d.example", i%3)
	return unmogrowp.Delivery{
		ID: fmt.Sprintf("d%04d", i), PostbackID: fmt.Sprintf("pb-%d", i%2), AppID: "app-1",
		ActivityKind: unmogrowp.TriggerInstall, Status: unmogrowp.DeliveryPending,
		URL: fmt.Sprintf("https://%s/pb?n=%d&c=a%%20b%%26c", host, i), Host: host, Method: "POST",
		Headers:   map[string]string{"Content-Type": "application/json", "X-Key": "k"},
		Body:      []byte(fmt.Sprintf(`{"n":%d,"s":"é\u0001"}`, i)),
		CreatedAt: at, NextAttemptAt: at,
	}
}

func deliveries(from, to int) []unmogrowp.Delivery {
	var ds []unmogrowp.Delivery
	for i := from; i < to; i++ {
		ds = append(ds, delivery(i))
	}
	return ds
}

func enqueue(t *testing.T, o unmogrowp.Outbox, ds ...unmogrowp.Delivery) {
	t.Helper()
	if err := o.Enqueue(context.Background(), ds); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
}

func claim(t *testing.T, o unmogrowp.Outbox, r unmogrowp.ClaimRequest) []unmogrowp.Delivery {
	t.Helper()
	if r.Lease == 0 {
		r.Lease = lease
	}
	ds, err := o.Claim(context.Background(), r)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	for _, d := range ds {
		if d.LeaseToken == "" {
			t.Fatalf("Claim returned %s without a lease token", d.ID)
		}
	}
	return ds
}

func complete(t *testing.T, o unmogrowp.Outbox, a unmogrowp.Attempt) {
	t.Helper()
	if err := o.Complete(context.Background(), a); err != nil {
		t.Fatalf("Complete(%s): %v", a.ID, err)
	}
}

// list returns every delivery of the postback, newest first.
func list(t *testing.T, o unmogrowp.Outbox, postbackID string) []unmogrowp.Delivery {
	t.Helper()
	ds, next, err := o.List(context.Background(), unmogrowp.DeliveryFilter{AppID: "app-1", PostbackID: postbackID})
	if err != nil || next != "" {
		t.Fatalf("List = next %q, %v", next, err)
	}
	return ds
}

// find returns the delivery with the id from the postback's list.
func find(t *testing.T, o unmogrowp.Outbox, d unmogrowp.Delivery) unmogrowp.Delivery {
	t.Helper()
	for _, got := range list(t, o, d.PostbackID) {
		if got.ID == d.ID {
			return got
		}
	}
	t.Fatalf("delivery %s is not listed", d.ID)
	return unmogrowp.Delivery{}
}

func ids(ds []unmogrowp.Delivery) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := unmogrowp.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q), want code %q", err, got, code)
	}
}

// sameDelivery fails unless got is want as the outbox keeps it.
func sameDelivery(t *testing.T, got, want unmogrowp.Delivery) {
	t.Helper()
	if !got.CreatedAt.Equal(want.CreatedAt) || !got.NextAttemptAt.Equal(want.NextAttemptAt) ||
		!got.DeliveredAt.Equal(want.DeliveredAt) {
		t.Fatalf("times of %s: got created %v next %v delivered %v, want %v %v %v", want.ID,
			got.CreatedAt, got.NextAttemptAt, got.DeliveredAt, want.CreatedAt, want.NextAttemptAt, want.DeliveredAt)
	}
	got.CreatedAt, got.NextAttemptAt, got.DeliveredAt = want.CreatedAt, want.NextAttemptAt, want.DeliveredAt
	got.LeaseToken = want.LeaseToken
	if len(got.Headers) == 0 && len(want.Headers) == 0 {
		got.Headers = want.Headers
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("delivery:\n got %+v\nwant %+v", got, want)
	}
}

func testRoundTrip(t *testing.T, o unmogrowp.Outbox) {
	d := delivery(0)
	plain := delivery(2)
	plain.Method, plain.Headers, plain.Body = "GET", nil, nil
	enqueue(t, o, d, plain)
	got := list(t, o, "pb-0")
	if len(got) != 2 {
		t.Fatalf("List = %v, want d0002 and d0000", ids(got))
	}
	sameDelivery(t, got[0], plain)
	sameDelivery(t, got[1], d)
	if got[0].LeaseToken != "" {
		t.Fatal("List shows a lease token")
	}
	if err := o.Enqueue(context.Background(), nil); err != nil {
		t.Fatalf("empty Enqueue: %v", err)
	}
}

func testEnqueueIdempotent(t *testing.T, o unmogrowp.Outbox) {
	d := delivery(0)
	changed := d
	changed.URL = "https://h0.example/other"
	enqueue(t, o, d, changed) // the first of two equal ids in one call wins
	sameDelivery(t, find(t, o, d), d)

	c := claim(t, o, unmogrowp.ClaimRequest{Now: base, Limit: 10})
	if len(c) != 1 {
		t.Fatalf("Claim = %v, want d0000", ids(c))
	}
	at := base.Add(time.Second)
	complete(t, o, unmogrowp.Attempt{ID: d.ID, LeaseToken: c[0].LeaseToken, At: at, Status: unmogrowp.DeliveryDelivered, HTTPStatus: 200})

	// A replay enqueues it again, with another URL and due again: nothing changes.
	enqueue(t, o, changed, delivery(1))
	want := d
	want.Status, want.Attempts, want.LastStatus, want.DeliveredAt = unmogrowp.DeliveryDelivered, 1, 200, at
	sameDelivery(t, find(t, o, d), want)
	if c := claim(t, o, unmogrowp.ClaimRequest{Now: base.Add(time.Hour), Limit: 10}); !reflect.DeepEqual(ids(c), []string{"d0001"}) {
		t.Fatalf("Claim after the replay = %v, want only the new d0001", ids(c))
	}
}

func testEnqueueInvalid(t *testing.T, o unmogrowp.Outbox) {
	for name, edit := range map[string]func(*unmogrowp.Delivery){
		"no id":          func(d *unmogrowp.Delivery) { d.ID = "" },
		"no postback id": func(d *unmogrowp.Delivery) { d.PostbackID = "" },
		"no app id":      func(d *unmogrowp.Delivery) { d.AppID = "" },
		"no url":         func(d *unmogrowp.Delivery) { d.URL = "" },
		"no host":        func(d *unmogrowp.Delivery) { d.Host = "" },
		"no method":      func(d *unmogrowp.Delivery) { d.Method = "" },
		"delivered":      func(d *unmogrowp.Delivery) { d.Status = unmogrowp.DeliveryDelivered },
	} {
		bad := delivery(1)
		edit(&bad)
		err := o.Enqueue(context.Background(), []unmogrowp.Delivery{delivery(0), bad})
		if unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
			t.Fatalf("%s: Enqueue = %v, want EINVALID", name, err)
		}
		if got := list(t, o, "pb-0"); len(got) != 0 {
			t.Fatalf("%s: a failed Enqueue stored %v", name, ids(got))
		}
	}
}

func testClaimDue(t *testing.T, o unmogrowp.Outbox) {
	enqueue(t, o, deliveries(0, 6)...)
	// Due at base+0..5 ms: at base+3ms four are due, earliest first.
	c := claim(t, o, unmogrowp.ClaimRequest{Now: base.Add(3 * time.Millisecond), Limit: 3})
	if want := []string{"d0000", "d0001", "d0002"}; !reflect.DeepEqual(ids(c), want) {
		t.Fatalf("Claim = %v, want %v", ids(c), want)
	}
	c = claim(t, o, unmogrowp.ClaimRequest{Now: base.Add(3 * time.Millisecond), Limit: 10})
	if want := []string{"d0003"}; !reflect.DeepEqual(ids(c), want) {
		t.Fatalf("second Claim = %v, want %v (the rest are not due)", ids(c), want)
	}
	sameDelivery(t, c[0], delivery(3))
	for _, r := range []unmogrowp.ClaimRequest{{Now: base, Limit: 0, Lease: lease}, {Now: base, Limit: 1, Lease: 0}} {
		_, err := o.Claim(context.Background(), r)
		wantCode(t, err, unmogrowp.EINVALID)
	}
}

func testClaimLease(t *testing.T, o unmogrowp.Outbox) {
	enqueue(t, o, delivery(0))
	first := claim(t, o, unmogrowp.ClaimRequest{Now: base, Limit: 1})
	if c := claim(t, o, unmogrowp.ClaimRequest{Now: base.Add(lease - time.Millisecond), Limit: 1}); len(c) != 0 {
		t.Fatalf("Claim while leased = %v, want none", ids(c))
	}
	second := claim(t, o, unmogrowp.ClaimRequest{Now: base.Add(lease), Limit: 1})
	if len(first) != 1 || len(second) != 1 || first[0].LeaseToken == second[0].LeaseToken {
		t.Fatalf("claims at the lease's end = %v then %v, want the delivery twice with two tokens", first, second)
	}
	// The first claim's holder lost it: its attempt is not recorded.
	err := o.Complete(context.Background(), unmogrowp.Attempt{ID: "d0000", LeaseToken: first[0].LeaseToken, At: base.Add(lease), Status: unmogrowp.DeliveryDelivered, HTTPStatus: 200})
	wantCode(t, err, unmogrowp.ECONFLICT)
	if got := find(t, o, delivery(0)); got.Attempts != 0 || got.Status != unmogrowp.DeliveryPending {
		t.Fatalf("after a stale Complete: %+v, want untouched", got)
	}
	// The holder of an expired lease that nobody took may still record its attempt.
	complete(t, o, unmogrowp.Attempt{ID: "d0000", LeaseToken: second[0].LeaseToken, At: base.Add(3 * lease), Status: unmogrowp.DeliveryFailed, HTTPStatus: 404, Error: "The destination answered 404 Not Found."})
	if got := find(t, o, delivery(0)); got.Attempts != 1 || got.Status != unmogrowp.DeliveryFailed || got.LastStatus != 404 {
		t.Fatalf("after Complete: %+v, want failed after one attempt", got)
	}
	if c := claim(t, o, unmogrowp.ClaimRequest{Now: base.Add(time.Hour), Limit: 1}); len(c) != 0 {
		t.Fatalf("a failed delivery was claimed: %v", ids(c))
	}
}

func testClaimConcurrent(t *testing.T, o unmogrowp.Outbox) {
	const n, workers = 300, 6
	enqueue(t, o, deliveries(0, n)...)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n { // enough rounds for every delivery; more means one came twice
				ds, err := o.Claim(context.Background(), unmogrowp.ClaimRequest{Now: base.Add(time.Second), Limit: 7, Lease: lease})
				if err != nil {
					errs <- err
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					seen[d.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Claim: %v", err)
	}
	if len(seen) != n {
		t.Fatalf("concurrent claims got %d deliveries, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Fatalf("%s was claimed %d times while leased", id, k)
		}
	}
}

func testClaimHosts(t *testing.T, o unmogrowp.Outbox) {
	enqueue(t, o, deliveries(0, 12)...) // hosts h0, h1, h2, four each
	now := base.Add(time.Second)
	c := claim(t, o, unmogrowp.ClaimRequest{Now: now, Limit: 10, PerHost: 2, Except: []string{"h1.example"}})
	if want := []string{"d0000", "d0002", "d0003", "d0005"}; !reflect.DeepEqual(ids(c), want) {
		t.Fatalf("Claim with PerHost 2, except h1 = %v, want %v", ids(c), want)
	}
	c = claim(t, o, unmogrowp.ClaimRequest{Now: now, Limit: 3})
	if want := []string{"d0001", "d0004", "d0006"}; !reflect.DeepEqual(ids(c), want) {
		t.Fatalf("next Claim = %v, want %v", ids(c), want)
	}
	// Left: d0009 of h0, d0007 and d0010 of h1, d0008 and d0011 of h2.
	c = claim(t, o, unmogrowp.ClaimRequest{Now: now, Limit: 10, PerHost: 1, HostLimits: map[string]int{"h1.example": 2}})
	if want := []string{"d0007", "d0008", "d0009", "d0010"}; !reflect.DeepEqual(ids(c), want) {
		t.Fatalf("Claim with PerHost 1, h1 2 = %v, want %v", ids(c), want)
	}
	_, err := o.Claim(context.Background(), unmogrowp.ClaimRequest{Now: now, Limit: 1, Lease: lease, HostLimits: map[string]int{"h2.example": 0}})
	wantCode(t, err, unmogrowp.EINVALID)
}

func testCompleteRetry(t *testing.T, o unmogrowp.Outbox) {
	d := delivery(0)
	enqueue(t, o, d)
	c := claim(t, o, unmogrowp.ClaimRequest{Now: base, Limit: 1})
	at, next := base.Add(time.Second), base.Add(time.Second+time.Minute)
	complete(t, o, unmogrowp.Attempt{ID: d.ID, LeaseToken: c[0].LeaseToken, At: at, Status: unmogrowp.DeliveryPending, HTTPStatus: 500, Error: "The destination answered 500 Internal Server Error.", NextAttemptAt: next})
	want := d
	want.Attempts, want.LastStatus, want.LastError, want.NextAttemptAt = 1, 500, "The destination answered 500 Internal Server Error.", next
	sameDelivery(t, find(t, o, d), want)

	if c := claim(t, o, unmogrowp.ClaimRequest{Now: next.Add(-time.Millisecond), Limit: 1}); len(c) != 0 {
		t.Fatalf("a retry was claimed before it was due: %v", ids(c))
	}
	c = claim(t, o, unmogrowp.ClaimRequest{Now: next, Limit: 1})
	if len(c) != 1 || c[0].Attempts != 1 {
		t.Fatalf("Claim of the due retry = %+v", c)
	}
	done := next.Add(time.Second)
	complete(t, o, unmogrowp.Attempt{ID: d.ID, LeaseToken: c[0].LeaseToken, At: done, Status: unmogrowp.DeliveryDelivered, HTTPStatus: 204})
	want.Status, want.Attempts, want.LastStatus, want.LastError, want.DeliveredAt = unmogrowp.DeliveryDelivered, 2, 204, "", done
	sameDelivery(t, find(t, o, d), want)
	if c := claim(t, o, unmogrowp.ClaimRequest{Now: done.Add(time.Hour), Limit: 1}); len(c) != 0 {
		t.Fatalf("a delivered delivery was claimed: %v", ids(c))
	}
}

func testCompleteErrors(t *testing.T, o unmogrowp.Outbox) {
	enqueue(t, o, delivery(0))
	ok := unmogrowp.Attempt{ID: "d0000", At: base, Status: unmogrowp.DeliveryDelivered, HTTPStatus: 200}
	wantCode(t, o.Complete(context.Background(), ok), unmogrowp.ECONFLICT) // never claimed
	c := claim(t, o, unmogrowp.ClaimRequest{Now: base, Limit: 1})
	ok.LeaseToken = c[0].LeaseToken

	missing := ok
	missing.ID = "nope"
	wantCode(t, o.Complete(context.Background(), missing), unmogrowp.ENOTFOUND)
	bad := ok
	bad.Status = "sent"
	wantCode(t, o.Complete(context.Background(), bad), unmogrowp.EINVALID)
	bad.Status = unmogrowp.DeliveryPending
	wantCode(t, o.Complete(context.Background(), bad), unmogrowp.EINVALID)
	wrong := ok
	wrong.LeaseToken += "x"
	wantCode(t, o.Complete(context.Background(), wrong), unmogrowp.ECONFLICT)

	complete(t, o, ok)
	wantCode(t, o.Complete(context.Background(), ok), unmogrowp.ECONFLICT) // completed already
	if got := find(t, o, delivery(0)); got.Attempts != 1 {
		t.Fatalf("attempts = %d, want 1", got.Attempts)
	}
}

func testList(t *testing.T, o unmogrowp.Outbox) {
	enqueue(t, o, deliveries(0, 20)...) // pb-0: even ones
	other := delivery(100)
	other.AppID = "app-2"
	enqueue(t, o, other)
	c := claim(t, o, unmogrowp.ClaimRequest{Now: base.Add(time.Second), Limit: 2})
	complete(t, o, unmogrowp.Attempt{ID: c[0].ID, LeaseToken: c[0].LeaseToken, At: base.Add(time.Second), Status: unmogrowp.DeliveryDelivered, HTTPStatus: 200})
	complete(t, o, unmogrowp.Attempt{ID: c[1].ID, LeaseToken: c[1].LeaseToken, At: base.Add(time.Second), Status: unmogrowp.DeliveryFailed, HTTPStatus: 404, Error: "x"})

	page := func(f unmogrowp.DeliveryFilter) ([]string, string) {
		t.Helper()
		f.AppID = "app-1"
		ds, next, err := o.List(context.Background(), f)
		if err != nil {
			t.Fatalf("List(%+v): %v", f, err)
		}
		for _, d := range ds {
			if d.LeaseToken != "" {
				t.Fatalf("List shows the lease token of %s", d.ID)
			}
		}
		return ids(ds), next
	}
	// Pages of 4 of pb-0's ten, newest first.
	var all []string
	cursor := ""
	for range 10 {
		got, next := page(unmogrowp.DeliveryFilter{PostbackID: "pb-0", Limit: 4, Cursor: cursor})
		all = append(all, got...)
		if cursor = next; cursor == "" {
			break
		}
	}
	want := []string{"d0018", "d0016", "d0014", "d0012", "d0010", "d0008", "d0006", "d0004", "d0002", "d0000"}
	if !reflect.DeepEqual(all, want) {
		t.Fatalf("pages = %v, want %v", all, want)
	}
	for _, tc := range []struct {
		f    unmogrowp.DeliveryFilter
		want []string
	}{
		{unmogrowp.DeliveryFilter{PostbackID: "pb-0", Status: unmogrowp.DeliveryDelivered}, []string{"d0000"}},
		{unmogrowp.DeliveryFilter{PostbackID: "pb-1", Status: unmogrowp.DeliveryFailed}, []string{"d0001"}},
		{unmogrowp.DeliveryFilter{PostbackID: "pb-1", Status: unmogrowp.DeliveryPending, From: base.Add(15 * time.Millisecond), To: base.Add(19 * time.Millisecond)}, []string{"d0017", "d0015"}},
		{unmogrowp.DeliveryFilter{PostbackID: "pb-9"}, []string{}},
	} {
		if got, next := page(tc.f); !reflect.DeepEqual(got, tc.want) || next != "" {
			t.Fatalf("List(%+v) = %v next %q, want %v", tc.f, got, next, tc.want)
		}
	}
	// Another app's postback lists nothing of app-1's, and app-1 nothing of app-2's.
	if ds, _, err := o.List(context.Background(), unmogrowp.DeliveryFilter{AppID: "app-2", PostbackID: "pb-1"}); err != nil || len(ds) != 0 {
		t.Fatalf("List of app-2's pb-1 = %v, %v; want none", ids(ds), err)
	}
	for _, f := range []unmogrowp.DeliveryFilter{
		{AppID: "app-1", PostbackID: "pb-0", Cursor: "not a cursor"},
		{AppID: "app-1", PostbackID: "pb-0", Status: "sent"},
		{AppID: "app-1"},
		{PostbackID: "pb-0"},
	} {
		_, _, err := o.List(context.Background(), f)
		wantCode(t, err, unmogrowp.EINVALID)
	}
}

func testCanceled(t *testing.T, o unmogrowp.Outbox) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := o.Enqueue(ctx, deliveries(0, 1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Enqueue with a canceled context = %v", err)
	}
	if _, err := o.Claim(ctx, unmogrowp.ClaimRequest{Now: base, Limit: 1, Lease: lease}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Claim with a canceled context = %v", err)
	}
	if _, _, err := o.List(ctx, unmogrowp.DeliveryFilter{AppID: "app-1", PostbackID: "pb-0"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("List with a canceled context = %v", err)
	}
}
