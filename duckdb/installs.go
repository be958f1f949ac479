package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// selectInstalls reads the columns in the order scanInstall expects.
const selectInstalls = `SELECT "partition", "offset", app_id, device_id, install_event_id,
	install_time, attributed, match_type, touch_type, touchpoint_id, touch_time,
	media_source, campaign, adset, ad, site_id, channel, click_id, deep_link_value,
	ctit_seconds, is_reinstall, is_reattribution, rejected, first_install_time,
	reattribution_kind, original_media_source, original_campaign
FROM installs`

// attributionQuery reads a device id's installs of every app, through the
// installs_device_id index.
const attributionQuery = selectInstalls + ` WHERE device_id = ?`

// latestPerDevice keeps, of each device's installs, the one at the highest log position.
const latestPerDevice = ` QUALIFY row_number() OVER (PARTITION BY app_id, device_id ORDER BY "partition" DESC, "offset" DESC) = 1`

// Attribution returns the install decision of the device's install event with the highest
// (partition, offset). It returns ENOTFOUND when the app's device has no stored install,
// and EUNAVAILABLE once the store is closed.
//
// It reads the device id's installs, of every app, through the installs_device_id index
// (migration 0004): DuckDB takes the index only for a lone equality on device_id, so the
// app and the highest position are picked here. A device id has a handful of installs.
func (s *Store) Attribution(ctx context.Context, appID, deviceID string) (*unmogrowp.Install, error) {
	if s.closed.Load() {
		return nil, errClosed()
	}
	rows, err := s.attribution.QueryContext(ctx, deviceID)
	if err != nil {
		return nil, fmt.Errorf("read attribution: %w", withCtx(ctx, err))
	}
	defer rows.Close()
	// Only the install returned has its rejected touchpoints decoded: a device that
	// reinstalls often under click spam has many installs, each listing up to hundreds.
	var best *unmogrowp.Install
	var bestRejected string
	for rows.Next() {
		var in unmogrowp.Install
		var rejected string
		if err := scanInstallRow(rows, &in, &rejected); err != nil {
			return nil, fmt.Errorf("read attribution: %w", withCtx(ctx, err))
		}
		if in.AppID == appID && (best == nil || in.Partition > best.Partition ||
			in.Partition == best.Partition && in.Offset > best.Offset) {
			best, bestRejected = &in, rejected
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read attribution: %w", withCtx(ctx, err))
	}
	if best == nil {
		return nil, unmogrowp.Errorf(unmogrowp.ENOTFOUND, "The device has no install.")
	}
	if err := decodeRejected(best, bestRejected); err != nil {
		return nil, fmt.Errorf("read attribution: %w", err)
	}
	return best, nil
}

// Installs returns a page of the app's install decisions, newest install time first (ties:
// highest partition, then offset, first), and the cursor of the next page. The cursor
// holds the page's last (install time, partition, offset), and the next page starts after
// it: pages neither skip nor repeat an install, even when installs are appended between
// them. It returns EINVALID for a missing app id or a cursor it did not make, and
// EUNAVAILABLE once the store is closed.
func (s *Store) Installs(ctx context.Context, f unmogrowp.InstallFilter) ([]unmogrowp.Install, string, error) {
	if s.closed.Load() {
		return nil, "", errClosed()
	}
	if f.AppID == "" {
		return nil, "", unmogrowp.Errorf(unmogrowp.EINVALID, "The app id is required.")
	}
	conds, args := []string{"app_id = ?"}, []any{f.AppID}
	if f.DeviceID != "" {
		conds, args = append(conds, "device_id = ?"), append(args, f.DeviceID)
	}
	if !f.From.IsZero() {
		conds, args = append(conds, "install_time >= ?"), append(args, ceilMicro(f.From))
	}
	if !f.To.IsZero() {
		conds, args = append(conds, "install_time < ?"), append(args, ceilMicro(f.To))
	}
	if f.Cursor != "" {
		c, ok := unmogrowp.ParsePageCursor(f.Cursor)
		if !ok {
			return nil, "", unmogrowp.Errorf(unmogrowp.EINVALID, "The cursor is not valid.")
		}
		conds = append(conds, `(install_time < ? OR (install_time = ? AND ("partition" < ? OR ("partition" = ? AND "offset" < ?))))`)
		t := time.UnixMicro(c.Time).UTC()
		args = append(args, t, t, c.Partition, c.Partition, c.Offset)
	}
	query := selectInstalls + " WHERE " + strings.Join(conds, " AND ") +
		` ORDER BY install_time DESC, "partition" DESC, "offset" DESC`
	if f.Limit > 0 {
		// One more than asked tells whether there is a next page.
		query += " LIMIT ?"
		args = append(args, f.Limit+1)
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("query installs: %w", withCtx(ctx, err))
	}
	defer rows.Close()
	var installs []unmogrowp.Install
	for rows.Next() {
		var in unmogrowp.Install
		if err := scanInstall(rows, &in); err != nil {
			return nil, "", fmt.Errorf("query installs: %w", withCtx(ctx, err))
		}
		installs = append(installs, in)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("query installs: %w", withCtx(ctx, err))
	}
	if f.Limit <= 0 || len(installs) <= f.Limit {
		return installs, "", nil
	}
	installs = installs[:f.Limit]
	last := &installs[f.Limit-1]
	return installs, unmogrowp.PageCursor{Time: last.InstallTime.UnixMicro(), Partition: last.Partition, Offset: last.Offset}.String(), nil
}

// ScanDevices calls fn with the latest install decision of every (app, device), as
// Attribution returns it, with its Activity from the device's events (scanDevicesQuery),
// and returns fn's first error as it is. It reads the devices in
// chunks of about 100k (by a hash of app and device id), all in one read transaction, so it
// holds one chunk in memory at a time and sees the store as it was when it started; each
// chunk reads the installs table's app_id and device_id columns. It returns EUNAVAILABLE
// once the store is closed.
func (s *Store) ScanDevices(ctx context.Context, fn func(unmogrowp.Install) error) error {
	if s.closed.Load() {
		return errClosed()
	}
	var fnErr error
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var n int64
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM installs`).Scan(&n); err != nil {
			return err
		}
		chunks := max(1, (n+int64(s.scanChunk)-1)/int64(s.scanChunk))
		for c := range chunks {
			where, args := "", []any(nil)
			if chunks > 1 {
				where = ` WHERE hash(app_id, device_id) % ? = ?`
				args = []any{uint64(chunks), uint64(c), uint64(chunks), uint64(c)}
			}
			query := fmt.Sprintf(scanDevicesQuery, selectInstalls+where+latestPerDevice, where)
			rows, err := tx.QueryContext(ctx, query, args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var in unmogrowp.Install
				var last sql.NullTime
				if err := scanInstall(rows, &in, &last, &in.Activity.IDFA, &in.Activity.GAID, &in.Activity.AndroidID); err != nil {
					rows.Close()
					return err
				}
				if last.Valid {
					in.Activity.LastEventTime = utc(last.Time)
				}
				if fnErr = fn(in); fnErr != nil {
					rows.Close()
					return fnErr
				}
			}
			if err := rows.Err(); err != nil {
				rows.Close()
				return err
			}
			if err := rows.Close(); err != nil {
				return err
			}
		}
		return nil
	})
	switch {
	case fnErr != nil:
		return fnErr
	case err != nil:
		return fmt.Errorf("scan devices: %w", withCtx(ctx, err))
	}
	return nil
}

// scanDevicesQuery is ScanDevices' read of a chunk: the latest decisions (%[1]s, a
// selectInstalls query) with their device's activity from its events (%[2]s: the same
// chunk's WHERE, or ""): the latest event time and the latest non-empty advertising ids.
const scanDevicesQuery = `SELECT i.*, a.last_event, coalesce(a.idfa, ''), coalesce(a.gaid, ''), coalesce(a.android_id, '')
FROM (%[1]s) i
LEFT JOIN (
    SELECT app_id, device_id, max(event_time) AS last_event,
           arg_max(idfa, event_time) FILTER (WHERE idfa <> '') AS idfa,
           arg_max(gaid, event_time) FILTER (WHERE gaid <> '') AS gaid,
           arg_max(android_id, event_time) FILTER (WHERE android_id <> '') AS android_id
    FROM events%[2]s
    GROUP BY ALL
) a ON a.app_id = i.app_id AND a.device_id = i.device_id`

// scanInstall reads one row of selectInstalls into in, and the columns after them into
// extra.
func scanInstall(row scanner, in *unmogrowp.Install, extra ...any) error {
	var rejected string
	if err := scanInstallRow(row, in, &rejected, extra...); err != nil {
		return err
	}
	return decodeRejected(in, rejected)
}

// scanInstallRow is scanInstall with the rejected touchpoints left as their JSON, in
// rejected (decodeRejected decodes them); in.Rejected is nil.
func scanInstallRow(row scanner, in *unmogrowp.Install, rejected *string, extra ...any) error {
	var touchTime sql.NullTime
	err := row.Scan(append([]any{&in.Partition, &in.Offset, &in.AppID, &in.DeviceID, &in.InstallEventID,
		&in.InstallTime, &in.Attributed, &in.MatchType, &in.TouchType, &in.TouchpointID,
		&touchTime, &in.MediaSource, &in.Campaign, &in.Adset, &in.Ad, &in.SiteID, &in.Channel,
		&in.ClickID, &in.DeepLinkValue, &in.CTITSeconds, &in.IsReinstall, &in.IsReattribution,
		rejected, &in.FirstInstallTime, &in.ReattributionKind, &in.OriginalMediaSource, &in.OriginalCampaign}, extra...)...)
	if err != nil {
		return err
	}
	in.InstallTime, in.FirstInstallTime = utc(in.InstallTime), utc(in.FirstInstallTime)
	in.TouchTime = time.Time{}
	if touchTime.Valid {
		in.TouchTime = utc(touchTime.Time)
	}
	in.Rejected = nil
	return nil
}

// decodeRejected sets in.Rejected from the JSON of the installs table's rejected column
// (nil for none).
func decodeRejected(in *unmogrowp.Install, rejected string) error {
	in.Rejected = nil
	if rejected == "[]" {
		return nil
	}
	if err := json.Unmarshal([]byte(rejected), &in.Rejected); err != nil {
		return fmt.Errorf("install at partition %d offset %d: rejected: %w", in.Partition, in.Offset, err)
	}
	if len(in.Rejected) == 0 {
		in.Rejected = nil
	}
	return nil
}
