package unmogrowp

import (
	"context"
	"time"
)

// Record is one entry of the log as the pipeline reads it.
type Record struct {
	// Partition and Offset say where the record is in the log; together they are unique
	// and stay the same when the record is read again after a restart. The embedded log
	// has one partition, 0; Kafka has one per topic partition.
	Partition int32
	Offset    int64
	Key       string // the app id, which chose the partition
	Value     []byte // an encoded record: see EncodeEventRecord
}

// Log is the durable, ordered log that ingestion appends to. Implementations: package wal
// (embedded) and package kafka (distributed).
type Log interface {
	// Append stores the values in order under key (the app id: one app's records keep their
	// order). It returns nil only once all of them survive a crash of the process from that
	// moment on. On any error none of them may be acknowledged; a log that cannot take
	// writes returns an error with code EUNAVAILABLE.
	Append(ctx context.Context, key string, values [][]byte) error

	// Close flushes what is pending and releases the log. Appends after Close fail with
	// EUNAVAILABLE.
	Close() error
}

// LogReader delivers the log's records to the pipeline, in order within a partition, at
// least once.
type LogReader interface {
	// Read blocks until at least one record after the ones it returned before is available,
	// then returns up to max records. A new reader starts after the last committed record.
	// Returns ctx.Err() when ctx is done first.
	Read(ctx context.Context, max int) ([]Record, error)

	// Commit records that every record up to and including the highest offset of each
	// partition in recs has been processed, so that a new reader starts after them and the
	// log may delete them once past retention.
	Commit(ctx context.Context, recs []Record) error

	// Lag reports how many records have been appended but not committed, and the age of the
	// oldest of them (0 when none).
	Lag() (records int64, oldest time.Duration)
}
