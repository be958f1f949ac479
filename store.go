package unmogrowp

import (
	"context"
	"time"
)

// EventStore is the analytics store's side for events: where the pipeline writes and where
// reports read. Implementations: package duckdb (embedded) and package clickhouse
// (distributed).
type EventStore interface {
	// AppendEvents stores the events atomically: after a crash either all of them are
	// stored or none. Each event carries its log Partition and Offset.
	AppendEvents(ctx context.Context, events []Event) error

	// Watermarks returns, for each log partition, the highest offset among stored events;
	// a partition with no stored event is absent. The pipeline skips records at or below
	// the watermark when it replays the log after a crash.
	Watermarks(ctx context.Context) (map[int32]int64, error)

	// Events returns the stored events that match the filter, oldest event time first
	// (ties by partition and offset).
	Events(ctx context.Context, f EventFilter) ([]Event, error)

	// CountEvents returns how many stored events match the filter (Limit is ignored).
	CountEvents(ctx context.Context, f EventFilter) (int64, error)

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
// part of the hot state; implementations: package dedup (embedded) and package redis.
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
