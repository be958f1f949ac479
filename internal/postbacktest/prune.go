package postbacktest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// testPrune checks that Prune deletes the delivered and failed deliveries created before
// its time, and only those: pending ones stay however old, and a page of List continues
// from a cursor made before the prune.
func testPrune(t *testing.T, o unmogrowp.Outbox) {
	ctx := context.Background()
	// 0..9 of pb-0 and pb-1, created at base+i ms; of those: 0, 1 delivered, 2, 3 failed,
	// 4, 5 pending with an attempt made, 6..9 pending untouched.
	enqueue(t, o, deliveries(0, 10)...)
	c := claim(t, o, unmogrowp.ClaimRequest{Now: base.Add(time.Second), Limit: 6})
	if len(c) != 6 {
		t.Fatalf("claimed %v, want 6", ids(c))
	}
	for _, d := range c {
		a := unmogrowp.Attempt{ID: d.ID, LeaseToken: d.LeaseToken, At: base.Add(time.Second), HTTPStatus: 204, Status: unmogrowp.DeliveryDelivered}
		switch d.ID {
		case "d0002", "d0003":
			a.Status, a.HTTPStatus, a.Error = unmogrowp.DeliveryFailed, 404, "The destination answered 404 Not Found."
		case "d0004", "d0005":
			a.Status, a.HTTPStatus, a.Error, a.NextAttemptAt = unmogrowp.DeliveryPending, 500, "The destination answered 500.", base.Add(time.Hour)
		}
		complete(t, o, a)
	}
	// A first page of pb-1 (d0009, d0007), made before the prune.
	page, next, err := o.List(ctx, unmogrowp.DeliveryFilter{AppID: "app-1", PostbackID: "pb-1", Limit: 2})
	if err != nil || !slices.Equal(ids(page), []string{"d0009", "d0007"}) || next == "" {
		t.Fatalf("first page = %v, next %q, %v", ids(page), next, err)
	}

	// Before base+3ms: d0000..d0002 are old enough, and of those only the done ones go.
	n, err := o.Prune(ctx, base.Add(3*time.Millisecond))
	if err != nil || n != 3 {
		t.Fatalf("Prune(base+3ms) = %d, %v; want 3 (d0000, d0001, d0002)", n, err)
	}
	if got := append(ids(list(t, o, "pb-0")), ids(list(t, o, "pb-1"))...); !slices.Equal(got,
		[]string{"d0008", "d0006", "d0004", "d0009", "d0007", "d0005", "d0003"}) {
		t.Fatalf("after Prune(base+3ms): %v", got)
	}
	// Every done one is old enough now: d0003 goes; the pending ones, however old, stay.
	if n, err := o.Prune(ctx, base.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("Prune(base+1h) = %d, %v; want 1 (d0003)", n, err)
	}
	if n, err := o.Prune(ctx, base.Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("Prune again = %d, %v; want 0", n, err)
	}
	page, next, err = o.List(ctx, unmogrowp.DeliveryFilter{AppID: "app-1", PostbackID: "pb-1", Limit: 2, Cursor: next})
	if err != nil || !slices.Equal(ids(page), []string{"d0005"}) || next != "" {
		t.Fatalf("page after the prune = %v, next %q, %v; want [d0005]", ids(page), next, err)
	}
	if got := claim(t, o, unmogrowp.ClaimRequest{Now: base.Add(2 * time.Hour), Limit: 10}); len(got) != 6 {
		t.Fatalf("the pending deliveries after Prune: claimed %v, want 6", ids(got))
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := o.Prune(cctx, base.Add(time.Hour)); err != context.Canceled {
		t.Fatalf("Prune with a canceled context = %v", err)
	}
}
