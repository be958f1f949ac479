package unmogrowp

import (
	"context"
	"time"
)

// EventStore is the analytics store's side for events: where the pipeline writes and where
// reports read. Implementations: package duckdb (embedded) and package clickhouse
// (distributed).
type EventStore interface {
	// Append stores a batch atomically: after a crash either all of its events,
	// touchpoints and installs are stored or none. Each carries its log Partition and
	// Offset (an install those of its install event). An empty batch is a no-op.
	Append(ctx context.Context, b Batch) error

	// Watermarks returns, for each log partition, the highest offset among stored events,
	// touchpoints and SKAN postbacks; a partition with nothing stored is absent. The pipeline skips
	// records at or below the watermark when it replays the log after a crash.
	Watermarks(ctx context.Context) (map[int32]int64, error)

	// Events returns the stored events that match the filter, oldest event time first
	// (ties by partition and offset).
	Events(ctx context.Context, f EventFilter) ([]Event, error)

	// CountEvents returns how many stored events match the filter (Limit is ignored).
	CountEvents(ctx context.Context, f EventFilter) (int64, error)

	// ScanTouchpoints calls fn with each stored touchpoint that matches the filter, oldest
	// touch time first (ties by partition and offset), and stops at fn's first error, which
	// it returns. fn must not keep the pointer. The in-process hot state rebuilds its index
	// from it on start.
	ScanTouchpoints(ctx context.Context, f TouchpointFilter, fn func(*Touchpoint) error) error

	// Attribution returns the latest install decision of an app's device: the one of its
	// install event with the highest (partition, offset). Returns ENOTFOUND if the device
	// has no stored install.
	Attribution(ctx context.Context, appID, deviceID string) (*Install, error)

	// Installs returns an app's install decisions (one device's when DeviceID is set) with
	// install time in [From, To), newest install time first (ties: highest partition and
	// offset first), at most Limit of them (all when 0), starting after Cursor; next is the
	// cursor of the page after this one, "" when there is none. Returns EINVALID for a
	// cursor it did not make.
	Installs(ctx context.Context, f InstallFilter) (installs []Install, next string, err error)

	// ScanDevices calls fn with the latest install decision of every device (what
	// Attribution returns for it), with its Activity from the device's stored events (the
	// latest event time, the latest non-empty idfa, gaid and android_id), in no particular
	// order, and stops at fn's first error, which it returns. The in-process hot state
	// rebuilds itself from it on start.
	ScanDevices(ctx context.Context, fn func(Install) error) error

	// Ping reports whether the store answers.
	Ping(ctx context.Context) error

	// Close flushes and releases the store.
	Close() error
}

// EventFilter selects events. Zero fields select everything.
type EventFilter struct {
	AppID     string
	DeviceID  string
	EventType string
	From, To  time.Time // event time in [From, To)
	Limit     int
}

// Claim asks the deduplicator whether a record is the first with its event id.
type Claim struct {
	AppID     string
	EventID   string
	Partition int32
	Offset    int64
	Time      time.Time // the record's receive time: the dedup window counts from it
}

// Deduplicator remembers which event ids each app has sent within the dedup window. It is
// part of the hot state; implementations: package pebble (embedded) and package redis.
type Deduplicator interface {
	// Claim reports, for each claim, whether its record is the first one that carried its
	// (AppID, EventID) within DedupWindow. A record read again after a crash (same
	// Partition and Offset as the first sighting) is still the first. Claims are durable
	// when Claim returns: a restart does not forget them. Claims in one call are taken in
	// order, so the first of two equal ids in one call wins.
	Claim(ctx context.Context, claims []Claim) ([]bool, error)

	// Close releases the deduplicator.
	Close() error
}

// Batch is what the pipeline stores at once, atomically: the new events of a span of the
// log, the touchpoints of that span, and the install decisions made for its install
// events.
type Batch struct {
	Events      []Event
	Touchpoints []Touchpoint
	Installs    []Install
	SKAN        []SKANPostback // every copy as logged; the store's reads deduplicate them
}

// Len is how many rows the batch holds.
func (b *Batch) Len() int {
	return len(b.Events) + len(b.Touchpoints) + len(b.Installs) + len(b.SKAN)
}

// Position is a record's place in the log: its partition and offset.
type Position struct {
	Partition int32
	Offset    int64
}

// DecisionEvents sets at, emptied first, to the event of b at the position of each of b's
// install decisions, nil where b holds no event there: the event that made the decision
// (an install, a returning device's event), which the pipeline keeps in the decision's
// batch.
func (b *Batch) DecisionEvents(at map[Position]*Event) {
	clear(at)
	for i := range b.Installs {
		at[Position{b.Installs[i].Partition, b.Installs[i].Offset}] = nil
	}
	for i := range b.Events {
		e := &b.Events[i]
		if _, ok := at[Position{e.Partition, e.Offset}]; ok {
			at[Position{e.Partition, e.Offset}] = e
		}
	}
}

// Watermarks returns, for each partition, the highest offset among the batch's events,
// touchpoints and SKAN postbacks, where it is above known's (or known has none): the watermarks the batch
// raises. known may be nil.
func (b *Batch) Watermarks(known map[int32]int64) map[int32]int64 {
	raised := map[int32]int64{}
	// Rows come in runs of one partition: the highest offset of a run goes to the maps
	// once, not each row's.
	var run int32
	var high int64
	inRun := false
	flush := func() {
		if !inRun {
			return
		}
		cur, ok := raised[run]
		if !ok {
			cur, ok = known[run]
		}
		if !ok || high > cur {
			raised[run] = high
		}
	}
	raise := func(p int32, o int64) {
		if inRun && p == run {
			high = max(high, o)
			return
		}
		flush()
		run, high, inRun = p, o, true
	}
	for i := range b.Events {
		raise(b.Events[i].Partition, b.Events[i].Offset)
	}
	for i := range b.Touchpoints {
		raise(b.Touchpoints[i].Partition, b.Touchpoints[i].Offset)
	}
	for i := range b.SKAN {
		raise(b.SKAN[i].Partition, b.SKAN[i].Offset)
	}
	flush()
	return raised
}

// Install is an install decision as stored: the attribution of one install event, where
// that event sits in the log, and when the device's re-attribution window started.
type Install struct {
	Partition int32
	Offset    int64
	Attribution

	// FirstInstallTime is the time of the device's install that last counted as a new
	// install (neither a reinstall nor a re-attribution): the re-attribution window of the
	// device's next install counts from it. For a new install it is InstallTime.
	FirstInstallTime time.Time

	// OriginalMediaSource and OriginalCampaign are, for a re-engagement, the media source
	// and campaign of the decision it interrupted (the device's latest that was not a
	// re-engagement): the device's events go back to them once the re-engagement's
	// reattribution_window_days are over. "" otherwise.
	OriginalMediaSource, OriginalCampaign string

	// Activity is what the hot state knows of the device's events (HotState.Device fills
	// it, HotState.Seen and HotState.Apply raise it; ScanDevices fills it from the stored
	// events). The analytics stores keep no column of it.
	Activity Activity
}

// Activity is what a device's events told about it, beside its decisions: when its latest
// event happened and the advertising ids its events carried, the latest non-empty of each.
// A re-engagement (ATTRIBUTION.md) needs both: how long the device was dormant, and ids to
// match a click by when the returning event carries none.
type Activity struct {
	LastEventTime         time.Time // the latest event time; zero when unknown
	IDFA, GAID, AndroidID string
}

// Raise makes a what it is after an event at t with the ids: the later time, and each id
// that is not empty. It reports whether a changed.
func (a *Activity) Raise(t time.Time, idfa, gaid, androidID string) bool {
	changed := false
	if t.After(a.LastEventTime) {
		a.LastEventTime, changed = t, true
	}
	// One call a field, not a loop over a slice of the fields' addresses: that slice made
	// the compiler move every Activity raised to the heap.
	changed = raiseID(&a.IDFA, idfa) || changed
	changed = raiseID(&a.GAID, gaid) || changed
	return raiseID(&a.AndroidID, androidID) || changed
}

// raiseID sets *dst to v unless v is empty or already there, and reports whether it did.
func raiseID(dst *string, v string) bool {
	if v == "" || *dst == v {
		return false
	}
	*dst = v
	return true
}

// Merge raises a with b (Raise with b's time and ids) and reports whether a changed.
func (a *Activity) Merge(b Activity) bool {
	return a.Raise(b.LastEventTime, b.IDFA, b.GAID, b.AndroidID)
}

// DeviceActivity is a device's Activity, as HotState.Seen records it.
type DeviceActivity struct {
	AppID, DeviceID string
	Activity
}

// TouchpointFilter selects touchpoints. Zero fields select everything.
type TouchpointFilter struct {
	AppID    string
	From, To time.Time // touch time in [From, To)
	Limit    int
}

// InstallFilter selects a page of an app's install decisions.
type InstallFilter struct {
	AppID    string    // required
	DeviceID string    // only this device's decisions; "": every device's
	From, To time.Time // install time in [From, To); zero: unbounded
	Limit    int       // at most this many; 0: all
	Cursor   string    // from the previous page's next; "" for the first page
}
