package clickhouse

import (
	"context"
	"fmt"
	"strings"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"golang.org/x/sync/errgroup"

	"github.com/unmogrowp/unmogrowp"
)

// Append stores the batch: one INSERT of the events, one of the touchpoints, one of the
// installs (each one block, which ClickHouse makes one part, seen whole or not at all;
// the three at once, on three connections), then one INSERT that raises the watermarks
// of the batch's partitions, last. See the package comment for why this is
// all-or-nothing after a crash once the pipeline has replayed the log, and for what a
// reader sees meanwhile.
//
// The watermark of a partition becomes the highest offset among the stored events and
// touchpoints; an install has its install event's position and does not move it.
//
// An empty batch is a no-op. A context done before the first INSERT fails the batch with
// an error that wraps ctx.Err() and writes nothing; done later, it fails the batch with
// its rows maybe partly written and the watermarks not raised, which the pipeline
// handles as it handles a crash. After Close it returns EUNAVAILABLE; when the server
// cannot be reached, EUNAVAILABLE too.
//
// Strings are stored as they are when they are valid UTF-8, which ingestion guarantees;
// invalid sequences are replaced with U+FFFD, as package duckdb does.
func (s *Store) Append(ctx context.Context, b unmogrowp.Batch) error {
	if b.Len() == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return errClosed()
	}
	if err := s.appendLocked(ctx, &b); err != nil {
		// What the server holds is not what s.marks says any more, maybe: read it again.
		s.marks = nil
		return fmt.Errorf("append: %w", classify(ctx, err))
	}
	return nil
}

// appendLocked writes the batch's rows, then its watermarks, with s.mu held.
func (s *Store) appendLocked(ctx context.Context, b *unmogrowp.Batch) error {
	if s.marks == nil {
		marks, err := s.Watermarks(ctx)
		if err != nil {
			return fmt.Errorf("read watermarks: %w", err)
		}
		s.marks = marks
	}
	// The three tables' INSERTs run at once: each is its own part, and nothing counts
	// until the watermarks' INSERT, which waits for all three.
	g, gctx := errgroup.WithContext(ctx)
	if len(b.Events) > 0 {
		g.Go(func() error { return s.insert(gctx, "events", eventColumns(b.Events)) })
	}
	if len(b.Touchpoints) > 0 {
		g.Go(func() error { return s.insert(gctx, "touchpoints", touchpointColumns(b.Touchpoints)) })
	}
	if len(b.Installs) > 0 {
		g.Go(func() error { return s.insert(gctx, "installs", installColumns(b.Installs)) })
	}
	if len(b.SKAN) > 0 {
		g.Go(func() error { return s.insert(gctx, "skan_postbacks", skanColumns(b.SKAN)) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if s.beforeMarks != nil {
		if err := s.beforeMarks(ctx); err != nil {
			return err
		}
	}
	raised := b.Watermarks(s.marks)
	if len(raised) == 0 {
		return nil
	}
	c, parts := &columns{}, make([]int32, 0, len(raised))
	for p := range raised {
		parts = append(parts, p)
	}
	add(c, "partition", len(parts), func(i int) int32 { return parts[i] })
	add(c, "offset", len(parts), func(i int) int64 { return raised[parts[i]] })
	add(c, "version", len(parts), func(i int) uint64 { return markVersion(raised[parts[i]]) })
	if err := s.insert(ctx, "log_watermarks", c); err != nil {
		return err
	}
	for p, o := range raised {
		s.marks[p] = o
	}
	return nil
}

// insertBlockRows is how many rows an INSERT sends a block: an INSERT of more sends several
// blocks, which the server squashes into one before it writes (see insert). Blocks of a
// few thousand rows let clickhouse-go reuse its column buffers from one block to the next
// (it resets them after each) instead of growing them, a copy at each step, to the whole
// batch: that growth was most of what a consumer allocated.
const insertBlockRows = 4096

// insert writes the columns into table as one part (per month of the rows' times, the
// tables' partitions): one INSERT, sent in blocks of insertBlockRows rows which the server
// squashes into one block before it writes anything, since the INSERT sets
// min_insert_block_size_rows to its row count (and turns the bytes threshold off). A
// failed INSERT writes nothing.
func (s *Store) insert(ctx context.Context, table string, c *columns) error {
	if c.rows > insertBlockRows {
		ctx = ch.Context(ctx, ch.WithSettings(ch.Settings{
			"min_insert_block_size_rows":  c.rows,
			"min_insert_block_size_bytes": 0,
		}))
	}
	batch, err := s.conn.PrepareBatch(ctx, c.insert(table))
	if err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	defer batch.Close()
	for lo := 0; lo < c.rows; lo += insertBlockRows {
		hi := min(lo+insertBlockRows, c.rows)
		if lo > 0 {
			if err := batch.Flush(); err != nil {
				return fmt.Errorf("insert into %s: %w", table, err)
			}
		}
		for i, chunk := range c.chunk {
			if err := batch.Column(i).Append(chunk(lo, hi)); err != nil {
				return fmt.Errorf("insert into %s: column %s: %w", table, c.names[i], err)
			}
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	return nil
}

// markVersion maps an offset to log_watermarks' version, keeping the order (the sign bit
// flipped): the ReplacingMergeTree keeps the row with the highest version, which must be
// the highest offset, negative offsets included.
func markVersion(offset int64) uint64 { return uint64(offset) ^ (1 << 63) }

// Watermarks returns the highest stored offset of each log partition, from the
// log_watermarks table that Append writes after each batch's rows. It returns
// EUNAVAILABLE once the store is closed or when the server cannot be reached.
func (s *Store) Watermarks(ctx context.Context) (map[int32]int64, error) {
	if s.closed.Load() {
		return nil, errClosed()
	}
	rows, err := s.conn.Query(ctx, `SELECT "partition", max("offset") FROM log_watermarks GROUP BY "partition"`)
	if err != nil {
		return nil, fmt.Errorf("read watermarks: %w", classify(ctx, err))
	}
	defer rows.Close()
	marks := map[int32]int64{}
	for rows.Next() {
		var p int32
		var o int64
		if err := rows.Scan(&p, &o); err != nil {
			return nil, fmt.Errorf("read watermarks: %w", classify(ctx, err))
		}
		marks[p] = o
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read watermarks: %w", classify(ctx, err))
	}
	return marks, nil
}

// checkColumns verifies that each table the store writes has exactly the columns it
// writes (by name: every INSERT names its columns), so a migration that forgets a column,
// or adds one the store does not fill, fails at open rather than at the first append.
func (s *Store) checkColumns(ctx context.Context) error {
	for table, want := range map[string][]string{
		"events":      eventColumns(nil).names,
		"touchpoints": touchpointColumns(nil).names,
		"installs":    installColumns(nil).names,
	} {
		rows, err := s.conn.Query(ctx, `SELECT name FROM system.columns WHERE database = currentDatabase() AND table = $1`, table)
		if err != nil {
			return fmt.Errorf("read %s columns: %w", table, err)
		}
		var got []string
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				rows.Close()
				return fmt.Errorf("read %s columns: %w", table, err)
			}
			got = append(got, name)
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("read %s columns: %w", table, err)
		}
		if !sameSet(got, want) {
			return fmt.Errorf("%s table has columns %s, the store writes %s", table, strings.Join(got, ","), strings.Join(want, ","))
		}
	}
	return nil
}

// sameSet reports whether a and b hold the same strings, each once.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	in := map[string]bool{}
	for _, x := range a {
		in[x] = true
	}
	for _, x := range b {
		if !in[x] {
			return false
		}
	}
	return len(in) == len(b)
}
