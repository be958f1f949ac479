package inmem

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// Outbox is an unmogrowp.Outbox held in the process's memory: for tests, and for a process
// that accepts losing its pending deliveries when it stops. Claim scans every delivery, so
// it suits thousands of them, not millions. It is safe for concurrent use.
type Outbox struct {
	mu      sync.Mutex
	rows    map[string]*outboxRow
	pending map[string]*outboxRow // the rows still pending: what Claim scans
	leases  uint64                // lease tokens handed out
}

// outboxRow is a delivery and its lease.
type outboxRow struct {
	d          unmogrowp.Delivery // LeaseToken: the latest claim's
	leaseUntil time.Time
	leased     bool // the latest claim is not completed
}

var _ unmogrowp.Outbox = (*Outbox)(nil)

// NewOutbox returns an empty outbox.
func NewOutbox() *Outbox {
	return &Outbox{rows: map[string]*outboxRow{}, pending: map[string]*outboxRow{}}
}

// Enqueue implements unmogrowp.Outbox.
func (o *Outbox) Enqueue(ctx context.Context, ds []unmogrowp.Delivery) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for i := range ds {
		if err := ds[i].CheckNew(); err != nil {
			return err
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, d := range ds {
		if _, ok := o.rows[d.ID]; ok {
			continue
		}
		d = copyDelivery(d)
		d.Status, d.LeaseToken, d.Attempts, d.LastStatus, d.LastError = unmogrowp.DeliveryPending, "", 0, 0, ""
		d.DeliveredAt = time.Time{}
		if d.NextAttemptAt.IsZero() {
			d.NextAttemptAt = time.Now()
		}
		row := &outboxRow{d: d}
		o.rows[d.ID], o.pending[d.ID] = row, row
	}
	return nil
}

// Claim implements unmogrowp.Outbox.
func (o *Outbox) Claim(ctx context.Context, r unmogrowp.ClaimRequest) ([]unmogrowp.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := r.Check(); err != nil {
		return nil, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	except := make(map[string]bool, len(r.Except))
	for _, h := range r.Except {
		except[h] = true
	}
	var due []*outboxRow
	for _, row := range o.pending {
		if !row.d.NextAttemptAt.After(r.Now) &&
			(!row.leased || !row.leaseUntil.After(r.Now)) && !except[row.d.Host] {
			due = append(due, row)
		}
	}
	slices.SortFunc(due, func(a, b *outboxRow) int {
		if c := a.d.NextAttemptAt.Compare(b.d.NextAttemptAt); c != 0 {
			return c
		}
		if c := a.d.CreatedAt.Compare(b.d.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.d.ID, b.d.ID)
	})
	perHost := map[string]int{}
	var out []unmogrowp.Delivery
	for _, row := range due {
		if len(out) == r.Limit {
			break
		}
		if perHost[row.d.Host] >= r.HostLimit(row.d.Host) {
			continue
		}
		perHost[row.d.Host]++
		o.leases++
		row.d.LeaseToken = strconv.FormatUint(o.leases, 10)
		row.leaseUntil, row.leased = r.Now.Add(r.Lease), true
		out = append(out, copyDelivery(row.d))
	}
	return out, nil
}

// Complete implements unmogrowp.Outbox.
func (o *Outbox) Complete(ctx context.Context, a unmogrowp.Attempt) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := a.CheckAttempt(); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	row, ok := o.rows[a.ID]
	switch {
	case !ok:
		return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "No such delivery.")
	case !row.leased || a.LeaseToken == "" || row.d.LeaseToken != a.LeaseToken:
		return unmogrowp.Errorf(unmogrowp.ECONFLICT, "The delivery's lease is not this attempt's.")
	}
	d := &row.d
	row.leased = false
	d.Attempts++
	d.Status, d.LastStatus, d.LastError = a.Status, a.HTTPStatus, a.Error
	switch a.Status {
	case unmogrowp.DeliveryPending:
		d.NextAttemptAt = a.NextAttemptAt
	case unmogrowp.DeliveryDelivered:
		d.DeliveredAt = a.At
	}
	if a.Status != unmogrowp.DeliveryPending {
		delete(o.pending, a.ID)
	}
	return nil
}

// List implements unmogrowp.Outbox. Its cursor is the last delivery's creation time in
// unix nanoseconds and its id.
func (o *Outbox) List(ctx context.Context, f unmogrowp.DeliveryFilter) ([]unmogrowp.Delivery, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	if err := unmogrowp.CheckDeliveryFilter(f); err != nil {
		return nil, "", err
	}
	var after *unmogrowp.Delivery
	if f.Cursor != "" {
		nanos, id, ok := strings.Cut(f.Cursor, ".")
		n, err := strconv.ParseInt(nanos, 10, 64)
		if !ok || err != nil || id == "" {
			return nil, "", unmogrowp.Errorf(unmogrowp.EINVALID, "cursor is not valid.")
		}
		after = &unmogrowp.Delivery{ID: id, CreatedAt: time.Unix(0, n)}
	}
	newestFirst := func(a, b *unmogrowp.Delivery) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	}
	o.mu.Lock()
	var out []unmogrowp.Delivery
	for _, row := range o.rows {
		d := &row.d
		if d.AppID != f.AppID || d.PostbackID != f.PostbackID || (f.Status != "" && d.Status != f.Status) ||
			(!f.From.IsZero() && d.CreatedAt.Before(f.From)) || (!f.To.IsZero() && !d.CreatedAt.Before(f.To)) ||
			(after != nil && newestFirst(after, d) >= 0) {
			continue
		}
		c := copyDelivery(*d)
		c.LeaseToken = ""
		out = append(out, c)
	}
	o.mu.Unlock()
	slices.SortFunc(out, func(a, b unmogrowp.Delivery) int { return newestFirst(&a, &b) })
	next := ""
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
		last := out[len(out)-1]
		next = strconv.FormatInt(last.CreatedAt.UnixNano(), 10) + "." + last.ID
	}
	return out, next, nil
}

// copyDelivery returns d with its own headers and body.
func copyDelivery(d unmogrowp.Delivery) unmogrowp.Delivery {
	d.Headers = maps.Clone(d.Headers)
	d.Body = slices.Clone(d.Body)
	return d
}

// Prune implements unmogrowp.Outbox.
func (o *Outbox) Prune(ctx context.Context, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for id, r := range o.rows {
		if r.d.Status != unmogrowp.DeliveryPending && r.d.CreatedAt.Before(before) {
			delete(o.rows, id)
			n++
		}
	}
	return n, nil
}
