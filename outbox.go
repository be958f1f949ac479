package unmogrowp

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// Delivery statuses.
const (
	DeliveryPending   = "pending"   // waiting for its first attempt or a retry
	DeliveryDelivered = "delivered" // a 2xx answer was received
	DeliveryFailed    = "failed"    // given up: a final answer, a refused address, or no attempt left
)

// Delivery is one postback or webhook request to make, and what became of it: a row of the
// outbox. The request is expanded when the delivery is made (at enqueue time), so retries
// send the same bytes; the signature is added at each attempt, from the postback's secret,
// and is never stored.
type Delivery struct {
	// ID is stable across retries and replays: see DeliveryID. It is sent as
	// X-UnMoGrowP-Delivery-Id.
	ID           string
	PostbackID   string
	AppID        string
	DeviceID     string // the device the activity is of: an erasure of it deletes the delivery
	ActivityKind string // one of the Trigger constants
	Status       string // DeliveryPending, DeliveryDelivered or DeliveryFailed

	// The request.
	URL     string            // the expanded URL
	Host    string            // the destination, lower-case host[:port] of URL: concurrency is limited per Host
	Method  string            // GET or POST
	Headers map[string]string // expanded extra headers, Content-Type included when there is a body
	Body    []byte

	Attempts   int    // attempts made so far
	LastStatus int    // the HTTP status of the last attempt; 0 when there was no answer
	LastError  string // why the last attempt did not deliver, in one sentence; "" once delivered

	CreatedAt     time.Time // when the pipeline decided it: latency is counted from it
	NextAttemptAt time.Time // when it is due, while pending
	DeliveredAt   time.Time // when the 2xx answer came; zero otherwise

	// LeaseToken is set by Outbox.Claim: it names that claim, and Complete needs it. It is
	// not part of what the deliveries API shows.
	LeaseToken string
}

// DeliveryID returns the id of the delivery of a postback for one activity: a function of
// the postback, where the activity's record sits in the log (the install event for
// install, reinstall, reattribution and rejected_install; the event for event), when that
// record was received, the activity kind, and for rejected_install the rejected
// touchpoint's id ("" otherwise). A replay of the log after a crash thus makes the same
// ids, and Outbox.Enqueue keeps the first. The id is 32 lower-case hex digits: the
// received time in unix milliseconds (12 digits), so that ids made together sort together
// and a store's index of them takes new ones at one end rather than all over (5 times
// faster in SQLite), then 80 bits of a SHA-256 of the rest.
func DeliveryID(postbackID string, partition int32, offset int64, received time.Time, activityKind, touchpointID string) string {
	h := sha256.New()
	var pos [12]byte
	binary.BigEndian.PutUint32(pos[:4], uint32(partition))
	binary.BigEndian.PutUint64(pos[4:], uint64(offset))
	for _, s := range []string{postbackID, activityKind, touchpointID} {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	h.Write(pos[:])
	var id [16]byte
	ms := uint64(received.UnixMilli()) & (1<<48 - 1) // 48 bits: until the year 10889
	binary.BigEndian.PutUint16(id[:2], uint16(ms>>32))
	binary.BigEndian.PutUint32(id[2:6], uint32(ms))
	copy(id[6:], h.Sum(nil)[:10])
	return hex.EncodeToString(id[:])
}

// CheckNew returns the error Outbox.Enqueue returns for a delivery it cannot take: an
// *Error with code EINVALID for a delivery without ID, PostbackID, AppID, URL, Host or
// Method, or with a status other than pending or "".
func (d *Delivery) CheckNew() error {
	for _, f := range []struct{ name, v string }{
		{"id", d.ID}, {"postback_id", d.PostbackID}, {"app_id", d.AppID}, {"url", d.URL},
		{"host", d.Host}, {"method", d.Method},
	} {
		if f.v == "" {
			return Errorf(EINVALID, "A delivery needs its %s.", f.name)
		}
	}
	if d.Status != "" && d.Status != DeliveryPending {
		return Errorf(EINVALID, "A new delivery must be pending.")
	}
	return nil
}

// CheckAttempt returns the error Outbox.Complete returns for an attempt whose status it
// cannot record: an *Error with code EINVALID for a status that is not a delivery status,
// or pending without NextAttemptAt.
func (a *Attempt) CheckAttempt() error {
	switch {
	case a.Status != DeliveryPending && a.Status != DeliveryDelivered && a.Status != DeliveryFailed:
		return Errorf(EINVALID, "%q is not a delivery status.", a.Status)
	case a.Status == DeliveryPending && a.NextAttemptAt.IsZero():
		return Errorf(EINVALID, "A pending delivery needs its next attempt's time.")
	}
	return nil
}

// CheckDeliveryFilter returns the error Outbox.List returns for a filter it cannot take,
// but for the cursor, which only the outbox that made it can read: an *Error with code
// EINVALID without AppID or PostbackID, or for an unknown status.
func CheckDeliveryFilter(f DeliveryFilter) error {
	switch f.Status {
	case "", DeliveryPending, DeliveryDelivered, DeliveryFailed:
	default:
		return Errorf(EINVALID, "status must be pending, delivered or failed.")
	}
	if f.AppID == "" || f.PostbackID == "" {
		return Errorf(EINVALID, "Listing deliveries needs an app and a postback.")
	}
	return nil
}

// ClaimRequest asks the outbox for due deliveries to attempt.
type ClaimRequest struct {
	Now   time.Time     // the caller's clock: due means NextAttemptAt <= Now
	Limit int           // at most this many; must be positive
	Lease time.Duration // how long the claim holds: until Now+Lease; must be positive
	// PerHost caps the deliveries of one Host in the answer; 0: no cap.
	PerHost int
	// HostLimits caps the deliveries of the hosts it names in the answer, in place of
	// PerHost: a caller holds many of a destination that answers fast and few of one it
	// knows nothing of, or that is slow. Each limit must be positive.
	HostLimits map[string]int
	// Except lists hosts the caller cannot take now (their limit is reached): none of
	// their deliveries is claimed, so a slow host's backlog does not fill every claim.
	Except []string
}

// Check returns the error Outbox.Claim returns for a request it cannot take: an *Error
// with code EINVALID when Limit or Lease is not positive, or a HostLimits limit is not.
func (r *ClaimRequest) Check() error {
	if r.Limit <= 0 || r.Lease <= 0 {
		return Errorf(EINVALID, "A claim needs a positive limit and lease.")
	}
	for _, n := range r.HostLimits {
		if n <= 0 {
			return Errorf(EINVALID, "A claim's host limits must be positive.")
		}
	}
	return nil
}

// HostLimit returns how many deliveries of the host the answer to r may hold: its
// HostLimits entry, else PerHost, else Limit.
func (r *ClaimRequest) HostLimit(host string) int {
	if n, ok := r.HostLimits[host]; ok {
		return n
	}
	if r.PerHost > 0 {
		return r.PerHost
	}
	return r.Limit
}

// Attempt is the outcome of one attempt of a claimed delivery, as Outbox.Complete records
// it.
type Attempt struct {
	ID         string
	LeaseToken string    // the token of the claim that made the attempt
	At         time.Time // when the attempt ended
	Status     string    // the delivery's new status
	HTTPStatus int       // 0 when there was no answer
	Error      string    // "" when delivered
	// NextAttemptAt is when a pending delivery is due again; ignored otherwise.
	NextAttemptAt time.Time
}

// DeliveryFilter selects a page of one postback's deliveries.
type DeliveryFilter struct {
	AppID      string    // required
	PostbackID string    // required
	Status     string    // "" for every status
	From, To   time.Time // CreatedAt in [From, To); zero: unbounded
	Limit      int       // at most this many; 0: all
	Cursor     string    // from the previous page's next; "" for the first page
}

// Outbox is the durable queue of postback deliveries: the pipeline enqueues what its
// decisions owe to networks and webhooks, and delivery workers, in one process or in many
// (the split deployment's consumers), claim and attempt them. Implementations keep it
// where the pipeline's exactly-once discipline reaches: package inmem (tests), and the
// metadata and analytics stores. Every implementation runs postbacktest.Run.
//
// The contract makes each attempt once: a claim leases deliveries to one caller, and only
// the holder of a delivery's current lease can record its attempt. A caller must start an
// attempt only if it can end before the lease does (Lease longer than the request
// timeout); if it cannot, or if it crashes, the lease runs out and another claim takes the
// delivery, the attempt it did not record unspent. The receiver may thus see a request
// again after a crash mid-attempt, with the same X-UnMoGrowP-Delivery-Id. Times are the
// callers' clocks, which are taken to agree to well within a lease.
//
// Every method returns ctx.Err() when ctx is done first, and EUNAVAILABLE when the store
// cannot answer.
type Outbox interface {
	// Enqueue stores new pending deliveries, each due at its NextAttemptAt (now, when
	// zero), with no attempt made. It is idempotent on ID: a delivery whose ID the outbox
	// already holds, in any status, is left exactly as it is, so a replay of the log
	// neither doubles a delivery nor resets one already made; the others of the call are
	// stored. It is atomic: on error none of the new deliveries is stored. Two deliveries
	// with the same ID in one call: the first is kept. Returns EINVALID, storing nothing,
	// for a delivery without ID, PostbackID, AppID, URL, Host or Method, or with a status
	// other than pending (or ""). An empty call is a no-op.
	Enqueue(ctx context.Context, ds []Delivery) error

	// Claim leases to the caller, until r.Now+r.Lease, up to r.Limit pending deliveries
	// that are due (NextAttemptAt <= r.Now) and not leased (never claimed, completed since
	// their last claim, or whose lease ended at or before r.Now), earliest NextAttemptAt
	// first (ties by CreatedAt, then ID), at most r.HostLimit(host) of each host, none of
	// the hosts in r.Except. Concurrent claims, from one process or many, never return
	// the same delivery while its lease holds. Each delivery returned carries a LeaseToken
	// that no other claim of it ever had. Returns EINVALID when r.Limit or r.Lease is not
	// positive, or for a HostLimits limit that is not. Delivered and failed deliveries are
	// never claimed.
	Claim(ctx context.Context, r ClaimRequest) ([]Delivery, error)

	// Complete records one attempt of a claimed delivery and ends its lease: Attempts
	// goes up by one; LastStatus and LastError become a's; the status becomes a.Status;
	// NextAttemptAt becomes a.NextAttemptAt when pending; DeliveredAt becomes a.At when
	// delivered. It succeeds while a.LeaseToken is the delivery's latest claim's, even
	// after the lease ended, as long as no other claim took it. Returns ENOTFOUND if the
	// outbox has no delivery a.ID, ECONFLICT (recording nothing) if a.LeaseToken is not
	// its latest claim's or that claim was completed already, EINVALID if a.Status is not
	// a delivery status or is pending without NextAttemptAt.
	Complete(ctx context.Context, a Attempt) error

	// List returns one postback's deliveries that match the filter, newest CreatedAt
	// first (ties by ID, descending), at most f.Limit of them (all when 0), starting after
	// f.Cursor; next is the cursor of the page after this one, "" when there is none.
	// LeaseToken is empty in what it returns. A postback of another app lists nothing.
	// Returns EINVALID without AppID or PostbackID, for an unknown status, or for a
	// cursor it did not make.
	List(ctx context.Context, f DeliveryFilter) (ds []Delivery, next string, err error)

	// Prune deletes the deliveries that are done with (delivered or failed) and were
	// created before before, and returns how many it deleted; a pending delivery stays,
	// whatever its age. It may delete in several steps: on error, some may be gone. A
	// page of List after it still continues from a cursor made before it.
	Prune(ctx context.Context, before time.Time) (int, error)
}
