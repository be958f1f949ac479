package clickhouse

import (
	"context"
	"fmt"
	"strconv"

	"github.com/unmogrowp/unmogrowp"
)

// installsColumns are the columns in the order scanInstall expects.
const installsColumns = `"partition", "offset", app_id, device_id, install_event_id,
	install_time, attributed, match_type, touch_type, touchpoint_id, touch_time,
	media_source, campaign, adset, ad, site_id, channel, click_id, deep_link_value,
	ctit_seconds, is_reinstall, is_reattribution, rejected_touchpoint_id,
	rejected_media_source, rejected_reason, first_install_time,
	reattribution_kind, original_media_source, original_campaign`

// selectInstalls reads the columns in the order scanInstall expects.
const selectInstalls = `SELECT ` + installsColumns + `
FROM installs FINAL`

// scanDevicesQuery is ScanDevices' read of a chunk ($1 chunks, $2 this one): the latest
// decision of each device, with its activity from its events: the latest event time
// (0: none) and the latest non-empty advertising ids. ClickHouse 18.16 joins a subquery
// with ANY LEFT JOIN ... USING; a device without events gets the columns' defaults.
const scanDevicesQuery = `SELECT ` + installsColumns + `, last_event, a_idfa, a_gaid, a_android_id
FROM (` + selectInstalls + ` WHERE cityHash64(app_id, device_id) % $1 = $2
    ORDER BY app_id, device_id, "partition" DESC, "offset" DESC LIMIT 1 BY app_id, device_id)
ANY LEFT JOIN (
    SELECT app_id, device_id, max(event_time) AS last_event,
           argMaxIf(idfa, event_time, idfa != '') AS a_idfa,
           argMaxIf(gaid, event_time, gaid != '') AS a_gaid,
           argMaxIf(android_id, event_time, android_id != '') AS a_android_id
    FROM events
    WHERE cityHash64(app_id, device_id) % $1 = $2
    GROUP BY app_id, device_id
) USING (app_id, device_id)`

// latestFirst orders a device's installs from the one at the highest log position.
const latestFirst = ` ORDER BY "partition" DESC, "offset" DESC`

// Attribution returns the install decision of the device's install event with the highest
// (partition, offset). It returns ENOTFOUND when the app's device has no stored install,
// and EUNAVAILABLE once the store is closed or when the server cannot be reached.
//
// The installs table is sorted by app and install time, not device: this reads the app's
// installs' device ids. The hot state answers the SDK's requests; this is for the API and
// the tools.
func (s *Store) Attribution(ctx context.Context, appID, deviceID string) (*unmogrowp.Install, error) {
	if s.closed.Load() {
		return nil, errClosed()
	}
	rows, err := s.conn.Query(ctx, selectInstalls+` WHERE app_id = $1 AND device_id = $2`+latestFirst+` LIMIT 1`, appID, deviceID)
	if err != nil {
		return nil, fmt.Errorf("read attribution: %w", classify(ctx, err))
	}
	defer rows.Close()
	var in unmogrowp.Install
	found := rows.Next()
	if found {
		err = scanInstall(rows, &in)
	}
	if err == nil {
		err = rows.Err()
	}
	switch {
	case err != nil:
		return nil, fmt.Errorf("read attribution: %w", classify(ctx, err))
	case !found:
		return nil, unmogrowp.Errorf(unmogrowp.ENOTFOUND, "The device has no install.")
	}
	return &in, nil
}

// Installs returns a page of the app's install decisions, newest install time first (ties:
// highest partition, then offset, first), and the cursor of the next page. The cursor
// holds the page's last (install time, partition, offset), and the next page starts after
// it: pages neither skip nor repeat an install, even when installs are appended between
// them. The cursors are package duckdb's. It returns EINVALID for a missing app id or a
// cursor it did not make, and EUNAVAILABLE once the store is closed or when the server
// cannot be reached.
func (s *Store) Installs(ctx context.Context, f unmogrowp.InstallFilter) ([]unmogrowp.Install, string, error) {
	if s.closed.Load() {
		return nil, "", errClosed()
	}
	if f.AppID == "" {
		return nil, "", unmogrowp.Errorf(unmogrowp.EINVALID, "The app id is required.")
	}
	var w where
	w.add("app_id = ", f.AppID)
	if f.DeviceID != "" {
		w.add("device_id = ", f.DeviceID)
	}
	if !f.From.IsZero() {
		w.add("install_time >= ", ceilMicros(f.From))
	}
	if !f.To.IsZero() {
		w.add("install_time < ", ceilMicros(f.To))
	}
	if f.Cursor != "" {
		c, ok := unmogrowp.ParsePageCursor(f.Cursor)
		if !ok {
			return nil, "", unmogrowp.Errorf(unmogrowp.EINVALID, "The cursor is not valid.")
		}
		t, p, o := w.next(1), w.next(2), w.next(3)
		w.raw(`(install_time < `+t+` OR (install_time = `+t+` AND ("partition" < `+p+
			` OR ("partition" = `+p+` AND "offset" < `+o+`))))`, c.Time, c.Partition, c.Offset)
	}
	query := selectInstalls + w.clause() + ` ORDER BY install_time DESC, "partition" DESC, "offset" DESC`
	if f.Limit > 0 {
		// One more than asked tells whether there is a next page.
		query += " LIMIT " + strconv.Itoa(f.Limit+1)
	}
	rows, err := s.conn.Query(ctx, query, w.args...)
	if err != nil {
		return nil, "", fmt.Errorf("query installs: %w", classify(ctx, err))
	}
	defer rows.Close()
	var installs []unmogrowp.Install
	for rows.Next() {
		var in unmogrowp.Install
		if err := scanInstall(rows, &in); err != nil {
			return nil, "", fmt.Errorf("query installs: %w", classify(ctx, err))
		}
		installs = append(installs, in)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("query installs: %w", classify(ctx, err))
	}
	if f.Limit <= 0 || len(installs) <= f.Limit {
		return installs, "", nil
	}
	installs = installs[:f.Limit]
	last := &installs[f.Limit-1]
	return installs, unmogrowp.PageCursor{Time: micros(last.InstallTime), Partition: last.Partition, Offset: last.Offset}.String(), nil
}

// ScanDevices calls fn with the latest install decision of every (app, device), as
// Attribution returns it, with its Activity from the device's events (scanDevicesQuery),
// and returns fn's first error as it is. It reads the devices in
// chunks of about 100k (by a hash of app and device id), one query each, so the server
// sorts one chunk at a time. Installs appended during the scan may or may not be seen. It
// returns EUNAVAILABLE once the store is closed or when the server cannot be reached.
func (s *Store) ScanDevices(ctx context.Context, fn func(unmogrowp.Install) error) error {
	if s.closed.Load() {
		return errClosed()
	}
	var fnErr error
	err := func() error {
		var n uint64
		if err := s.conn.QueryRow(ctx, `SELECT count() FROM installs`).Scan(&n); err != nil {
			return err
		}
		chunks := max(1, (n+uint64(s.scanChunk)-1)/uint64(s.scanChunk))
		for c := range chunks {
			rows, err := s.conn.Query(ctx, scanDevicesQuery, chunks, c)
			if err != nil {
				return err
			}
			for rows.Next() {
				var in unmogrowp.Install
				var last int64
				if err := scanInstall(rows, &in, &last, &in.Activity.IDFA, &in.Activity.GAID, &in.Activity.AndroidID); err != nil {
					rows.Close()
					return err
				}
				if last != 0 {
					in.Activity.LastEventTime = fromMicros(last)
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
	}()
	switch {
	case fnErr != nil:
		return fnErr
	case err != nil:
		return fmt.Errorf("scan devices: %w", classify(ctx, err))
	}
	return nil
}

// scanInstall reads one row of selectInstalls into in, and the columns after them into
// extra.
func scanInstall(row scanner, in *unmogrowp.Install, extra ...any) error {
	var installTime, touchTime, firstInstallTime int64
	var attributed, reinstall, reattribution uint8
	var rejTouchpoint, rejSource, rejReason []string
	err := row.Scan(append([]any{&in.Partition, &in.Offset, &in.AppID, &in.DeviceID, &in.InstallEventID,
		&installTime, &attributed, &in.MatchType, &in.TouchType, &in.TouchpointID,
		&touchTime, &in.MediaSource, &in.Campaign, &in.Adset, &in.Ad, &in.SiteID, &in.Channel,
		&in.ClickID, &in.DeepLinkValue, &in.CTITSeconds, &reinstall, &reattribution,
		&rejTouchpoint, &rejSource, &rejReason, &firstInstallTime,
		&in.ReattributionKind, &in.OriginalMediaSource, &in.OriginalCampaign}, extra...)...)
	if err != nil {
		return err
	}
	in.InstallTime, in.TouchTime, in.FirstInstallTime = fromMicros(installTime), fromMicros(touchTime), fromMicros(firstInstallTime)
	in.Attributed, in.IsReinstall, in.IsReattribution = attributed != 0, reinstall != 0, reattribution != 0
	in.Rejected, err = rejections(nil, rejTouchpoint, rejSource, rejReason)
	if err != nil {
		return fmt.Errorf("install at partition %d offset %d: %w", in.Partition, in.Offset, err)
	}
	return nil
}
