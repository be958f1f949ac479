package clickhouse

import (
	"context"
	"fmt"
	"strconv"

	"github.com/unmogrowp/unmogrowp"
)

// defaultScanChunk is about how many rows one query of a scan reads. ClickHouse 18.16
// sorts a query's whole result in memory before it sends the first row, so a scan that
// must not sort a whole table reads it in chunks, each its own query: touchpoints by
// ranges of touch time, devices by ranges of a hash of their key.
const defaultScanChunk = 100_000

// bucketMicros is the width of the touch-time buckets a touchpoint scan plans its chunks
// with: a chunk is a run of whole minutes, so it holds more than scanChunk rows only when
// a single minute does.
const bucketMicros = 60_000_000

// selectTouchpoints reads the columns in the order scanTouchpoint expects.
const selectTouchpoints = `SELECT "partition", "offset", touchpoint_id, app_id, type, link_id,
	media_source, campaign, adset, ad, site_id, channel, click_id, touch_time, received_at,
	ip, user_agent, idfa, gaid, android_id, device_id, deep_link_value,
	sub1, sub2, sub3, sub4, sub5, cost_model, cost_value, cost_currency
FROM touchpoints FINAL`

// ScanTouchpoints calls fn with each touchpoint that matches f, by touch time, then
// partition, then offset, and returns fn's first error as it is. It reads the touchpoints
// in chunks of about 100k rows (by ranges of touch time), one query each, so the server
// sorts one chunk at a time. ClickHouse has no snapshot across queries: touchpoints
// appended during the scan may or may not be seen, each at most once. It returns
// EUNAVAILABLE once the store is closed or when the server cannot be reached.
func (s *Store) ScanTouchpoints(ctx context.Context, f unmogrowp.TouchpointFilter, fn func(*unmogrowp.Touchpoint) error) error {
	if s.closed.Load() {
		return errClosed()
	}
	var fnErr error
	err := func() error {
		cuts, err := s.touchChunks(ctx, f)
		if err != nil {
			return err
		}
		left := f.Limit // rows still wanted, when f.Limit > 0
		var tp unmogrowp.Touchpoint
		for i := 0; i <= len(cuts); i++ {
			var from, to *int64 // the chunk: [cuts[i-1], cuts[i]), nil for open
			if i > 0 {
				from = &cuts[i-1]
			}
			if i < len(cuts) {
				to = &cuts[i]
			}
			where, args := touchpointWhere(f, from, to)
			query := selectTouchpoints + where + ` ORDER BY touch_time, "partition", "offset"`
			if f.Limit > 0 {
				query += " LIMIT " + strconv.Itoa(left)
			}
			rows, err := s.conn.Query(ctx, query, args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				if err := scanTouchpoint(rows, &tp); err != nil {
					rows.Close()
					return err
				}
				if fnErr = fn(&tp); fnErr != nil {
					rows.Close()
					return fnErr
				}
				left--
			}
			if err := rows.Err(); err != nil {
				rows.Close()
				return err
			}
			if err := rows.Close(); err != nil {
				return err
			}
			if f.Limit > 0 && left == 0 {
				return nil
			}
		}
		return nil
	}()
	switch {
	case fnErr != nil:
		return fnErr
	case err != nil:
		return fmt.Errorf("scan touchpoints: %w", classify(ctx, err))
	}
	return nil
}

// touchChunks plans the chunks of a touchpoint scan: it returns the touch times (in
// microseconds) where one chunk ends and the next starts, none for a scan of one chunk.
// The plan is a histogram of the matching touchpoints by minute (one cheap query, which
// may count a replayed touchpoint twice: chunks are about a size, not exact), cut into
// runs of whole minutes that hold up to s.scanChunk rows. A scan that wants few rows is
// one chunk.
func (s *Store) touchChunks(ctx context.Context, f unmogrowp.TouchpointFilter) ([]int64, error) {
	if f.Limit > 0 && f.Limit <= s.scanChunk {
		return nil, nil
	}
	where, args := touchpointWhere(f, nil, nil)
	rows, err := s.conn.Query(ctx, fmt.Sprintf(
		`SELECT intDiv(touch_time, %d) AS bucket, count() FROM touchpoints%s GROUP BY bucket ORDER BY bucket`,
		bucketMicros, where), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cuts []int64
	var inChunk uint64
	for rows.Next() {
		var bucket int64
		var n uint64
		if err := rows.Scan(&bucket, &n); err != nil {
			return nil, err
		}
		if inChunk > 0 && inChunk+n > uint64(s.scanChunk) {
			cuts = append(cuts, bucket*bucketMicros)
			inChunk = 0
		}
		inChunk += n
	}
	return cuts, rows.Err()
}

// touchpointWhere turns f, and the chunk [from, to) in microseconds (nil for an open
// end), into a WHERE clause with its arguments.
func touchpointWhere(f unmogrowp.TouchpointFilter, from, to *int64) (string, []any) {
	var w where
	if f.AppID != "" {
		w.add("app_id = ", f.AppID)
	}
	if !f.From.IsZero() {
		w.add("touch_time >= ", ceilMicros(f.From))
	}
	if !f.To.IsZero() {
		w.add("touch_time < ", ceilMicros(f.To))
	}
	if from != nil {
		w.add("touch_time >= ", *from)
	}
	if to != nil {
		w.add("touch_time < ", *to)
	}
	return w.clause(), w.args
}

// scanTouchpoint reads one row of selectTouchpoints into tp.
func scanTouchpoint(row scanner, tp *unmogrowp.Touchpoint) error {
	var touchTime, receivedAt int64
	err := row.Scan(&tp.Partition, &tp.Offset, &tp.ID, &tp.AppID, &tp.Type, &tp.LinkID,
		&tp.MediaSource, &tp.Campaign, &tp.Adset, &tp.Ad, &tp.SiteID, &tp.Channel, &tp.ClickID,
		&touchTime, &receivedAt, &tp.IP, &tp.UserAgent, &tp.IDFA, &tp.GAID, &tp.AndroidID,
		&tp.DeviceID, &tp.DeepLinkValue, &tp.Sub[0], &tp.Sub[1], &tp.Sub[2], &tp.Sub[3], &tp.Sub[4],
		&tp.CostModel, &tp.CostValue, &tp.CostCurrency)
	if err != nil {
		return err
	}
	tp.Time, tp.ReceivedAt = fromMicros(touchTime), fromMicros(receivedAt)
	return nil
}
