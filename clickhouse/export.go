package clickhouse

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/unmogrowp/unmogrowp"
)

var _ unmogrowp.Exporter = (*Store)(nil)

// The raw export (unmogrowp.Exporter). ClickHouse 18.16 sorts a query's whole result in
// memory before it sends the first row, so Export reads the range in windows of whole hours
// holding about ExportWindowRows rows each, planned from a count per hour, one sorted query
// each. ClickHouse has no snapshot across queries: rows appended during an export may or
// may not be in it, each at most once (a window is read by one query).

// exportSpec is how the store reads one report: the table, its time column, the query of
// one window (%[1]s is the window's WHERE clause, which may appear more than once: its
// placeholders are numbered) and how a scanned row becomes exported rows.
type exportSpec struct {
	table   string
	timeCol string
	query   string
	extra   string // more conditions on the table, with no arguments
	newRow  func() (dest []any, fill func(q *unmogrowp.ExportQuery, row []unmogrowp.ExportValue, emit func() error) error)
}

var exportSpecs = map[string]*exportSpec{
	unmogrowp.ExportEvents:      eventsExport,
	unmogrowp.ExportInstalls:    installsExport,
	unmogrowp.ExportTouchpoints: touchpointsExport,
	unmogrowp.ExportRejected:    rejectedExport,
}

// Export streams q's rows to fn (unmogrowp.Exporter). It returns EUNAVAILABLE once the
// store is closed or when the server cannot be reached, and EINVALID for skan_postbacks
// and postback_deliveries, which it does not hold.
func (s *Store) Export(ctx context.Context, q unmogrowp.ExportQuery, fn func(row []unmogrowp.ExportValue) error) error {
	if s.closed.Load() {
		return errClosed()
	}
	if err := q.Check(); err != nil {
		return err
	}
	spec, ok := exportSpecs[q.Report]
	if !ok {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "The analytics store holds no %s.", q.Report)
	}
	var fnErr error
	err := func() error {
		most := s.exportRows
		if most == 0 {
			most = unmogrowp.ExportWindowRows
		}
		windows, err := s.exportWindows(ctx, spec, &q, most)
		if err != nil {
			return err
		}
		dest, fill := spec.newRow()
		row := make([]unmogrowp.ExportValue, len(unmogrowp.ExportFields[q.Report]))
		emit := func() error { fnErr = fn(row); return fnErr }
		for _, win := range windows {
			w := exportWhere(spec, &q, micros(win.From), micros(win.To))
			rows, err := s.conn.Query(ctx, fmt.Sprintf(spec.query, w.clause()), w.args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				if err := rows.Scan(dest...); err != nil {
					rows.Close()
					return err
				}
				if err := fill(&q, row, emit); err != nil {
					rows.Close()
					return err
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
		return fmt.Errorf("export %s: %w", q.Report, classify(ctx, err))
	}
	return nil
}

// exportWindows plans q's windows from the count of its rows per hour. The count reads
// without FINAL: a row not yet merged with its replayed copy counts twice, which only
// makes a window smaller.
func (s *Store) exportWindows(ctx context.Context, spec *exportSpec, q *unmogrowp.ExportQuery, most int64) ([]unmogrowp.ExportWindow, error) {
	w := exportWhere(spec, q, ceilMicros(q.From), ceilMicros(q.To))
	rows, err := s.conn.Query(ctx, `SELECT intDiv(`+spec.timeCol+`, 3600000000) AS h, count() FROM `+spec.table+w.clause()+` GROUP BY h ORDER BY h`, w.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var counts []unmogrowp.HourCount
	for rows.Next() {
		var h int64
		var n uint64
		if err := rows.Scan(&h, &n); err != nil {
			return nil, err
		}
		counts = append(counts, unmogrowp.HourCount{Hour: fromMicros(h * 3600000000), Count: int64(n)})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return unmogrowp.ExportWindows(q.From, q.To, counts, most), nil
}

// exportWhere is the WHERE clause of q's rows with their time in [from, to) microseconds
// (from and to already rounded up, as ceilMicros does).
func exportWhere(spec *exportSpec, q *unmogrowp.ExportQuery, from, to int64) *where {
	var w where
	w.add("app_id = ", q.AppID)
	w.add(spec.timeCol+" >= ", from)
	w.add(spec.timeCol+" < ", to)
	if q.MediaSource != "" && q.Report != unmogrowp.ExportRejected { // rejected filters each rejection in Go
		if q.MediaSource == unmogrowp.MediaSourceOrganic {
			w.raw("(media_source = "+w.next(1)+" OR media_source = '')", q.MediaSource)
		} else {
			w.add("media_source = ", q.MediaSource)
		}
	}
	if q.Campaign != "" {
		w.add("campaign = ", q.Campaign)
	}
	if q.EventType != "" {
		w.add("event_type = ", q.EventType)
	}
	if spec.extra != "" {
		w.raw(spec.extra)
	}
	return &w
}

// eventsExport reads events with the adset, ad, site, channel and match type of their
// device's latest install decision (ANY LEFT JOIN: ” for a device without one), which the
// events table does not keep.
var eventsExport = &exportSpec{
	table:   "events",
	timeCol: "event_time",
	query: `SELECT event_id, event_type, event_time, received_at, device_id, user_id, session_id,
	platform, os_version, app_version, device_model, country, language, idfa, gaid, idfv,
	android_id, revenue, has_revenue, currency, media_source, campaign, i_adset, i_ad,
	i_site_id, i_channel, i_match_type, event_data, att_status, install_referrer, ip,
	user_agent, attribution
FROM (SELECT * FROM events FINAL%[1]s)
ANY LEFT JOIN (
	SELECT device_id, adset AS i_adset, ad AS i_ad, site_id AS i_site_id, channel AS i_channel,
		match_type AS i_match_type
	FROM installs FINAL
	WHERE app_id = $1 AND device_id IN (SELECT device_id FROM events%[1]s)
	ORDER BY device_id, "partition" DESC, "offset" DESC LIMIT 1 BY device_id
) USING device_id
ORDER BY event_time, event_id, "partition", "offset"`,
	newRow: func() ([]any, func(*unmogrowp.ExportQuery, []unmogrowp.ExportValue, func() error) error) {
		var (
			str                 [33]string
			eventTime, received int64
			revenue             float64
			hasRevenue          uint8
		)
		dest := []any{&str[0], &str[1], &eventTime, &received}
		for i := 4; i <= 16; i++ {
			dest = append(dest, &str[i])
		}
		dest = append(dest, &revenue, &hasRevenue)
		for i := 19; i <= 32; i++ { // currency .. attribution, one place on for has_revenue
			dest = append(dest, &str[i])
		}
		return dest, func(_ *unmogrowp.ExportQuery, row []unmogrowp.ExportValue, emit func() error) error {
			for i := range row {
				switch {
				case i < 17:
					row[i].SetString(str[i])
				case i > 17:
					row[i].SetString(str[i+1])
				}
			}
			row[2].SetTime(fromMicros(eventTime))
			row[3].SetTime(fromMicros(received))
			row[17].SetFloat(revenue, hasRevenue != 0)
			row[26].SetJSON(str[27])
			row[31].SetJSON(str[32])
			return emit()
		}
	},
}

// installsExport reads install decisions; the rejected touchpoints' arrays become the JSON
// array that package duckdb stores.
var installsExport = &exportSpec{
	table:   "installs",
	timeCol: "install_time",
	query: `SELECT app_id, device_id, install_event_id, install_time, attributed, match_type,
	touch_type, touchpoint_id, touch_time, media_source, campaign, adset, ad, site_id, channel,
	click_id, deep_link_value, ctit_seconds, is_reinstall, is_reattribution,
	rejected_touchpoint_id, rejected_media_source, rejected_reason, reattribution_kind
FROM installs FINAL%[1]s
ORDER BY install_time, install_event_id, "partition", "offset"`,
	newRow: func() ([]any, func(*unmogrowp.ExportQuery, []unmogrowp.ExportValue, func() error) error) {
		var (
			str                              [17]string
			kind                             string // reattribution_kind
			installTime, touchTime, ctit     int64
			attributed, reinstall, reattrib  uint8
			rejTouchpoint, rejSource, reason []string
			rej                              []unmogrowp.Rejection
		)
		dest := []any{&str[0], &str[1], &str[2], &installTime, &attributed, &str[5], &str[6], &str[7], &touchTime}
		for i := 9; i <= 16; i++ {
			dest = append(dest, &str[i])
		}
		dest = append(dest, &ctit, &reinstall, &reattrib, &rejTouchpoint, &rejSource, &reason, &kind)
		return dest, func(_ *unmogrowp.ExportQuery, row []unmogrowp.ExportValue, emit func() error) error {
			for i := range str {
				row[i].SetString(str[i])
			}
			row[3].SetTime(fromMicros(installTime))
			row[4].SetBool(attributed != 0)
			row[8].SetTime(fromMicros(touchTime))
			row[17].SetInt(ctit)
			row[18].SetBool(reinstall != 0)
			row[19].SetBool(reattrib != 0)
			var err error
			if rej, err = rejections(rej[:0], rejTouchpoint, rejSource, reason); err != nil {
				return fmt.Errorf("install event %s: %w", str[2], err)
			}
			text := "[]"
			if len(rej) > 0 {
				b, _ := json.Marshal(rej) // a struct of three strings always marshals
				text = string(b)
			}
			row[20].SetJSON(text)
			row[21].SetString(kind)
			return emit()
		}
	},
}

// rejections appends the rejected touchpoints of the parallel arrays to rej.
func rejections(rej []unmogrowp.Rejection, touchpoints, sources, reasons []string) ([]unmogrowp.Rejection, error) {
	if len(touchpoints) != len(sources) || len(touchpoints) != len(reasons) {
		return rej, fmt.Errorf("rejected arrays of different lengths")
	}
	for k := range touchpoints {
		rej = append(rej, unmogrowp.Rejection{TouchpointID: touchpoints[k], MediaSource: sources[k], Reason: reasons[k]})
	}
	return rej, nil
}

// touchpointsExport reads touchpoints.
var touchpointsExport = &exportSpec{
	table:   "touchpoints",
	timeCol: "touch_time",
	query: `SELECT touchpoint_id, type, touch_time, media_source, campaign, adset, ad, site_id,
	channel, click_id, link_id, ip, user_agent, idfa, gaid, android_id, device_id,
	deep_link_value, received_at, sub1, sub2, sub3, sub4, sub5
FROM touchpoints FINAL%[1]s
ORDER BY touch_time, touchpoint_id, "partition", "offset"`,
	newRow: func() ([]any, func(*unmogrowp.ExportQuery, []unmogrowp.ExportValue, func() error) error) {
		var (
			str                 [24]string
			touchTime, received int64
		)
		dest := []any{&str[0], &str[1], &touchTime}
		for i := 3; i <= 17; i++ {
			dest = append(dest, &str[i])
		}
		dest = append(dest, &received)
		for i := 19; i <= 23; i++ {
			dest = append(dest, &str[i])
		}
		return dest, func(_ *unmogrowp.ExportQuery, row []unmogrowp.ExportValue, emit func() error) error {
			for i := range row {
				row[i].SetString(str[i])
			}
			row[2].SetTime(fromMicros(touchTime))
			row[18].SetTime(fromMicros(received))
			return emit()
		}
	},
}

// rejectedExport reads the install decisions with rejected touchpoints and writes a row per
// rejected touchpoint, in the order the decision lists them.
var rejectedExport = &exportSpec{
	table:   "installs",
	timeCol: "install_time",
	extra:   "notEmpty(rejected_touchpoint_id)",
	query: `SELECT install_event_id, install_time, device_id, rejected_touchpoint_id,
	rejected_media_source, rejected_reason
FROM installs FINAL%[1]s
ORDER BY install_time, install_event_id, "partition", "offset"`,
	newRow: func() ([]any, func(*unmogrowp.ExportQuery, []unmogrowp.ExportValue, func() error) error) {
		var (
			id, device                       string
			installTime                      int64
			rejTouchpoint, rejSource, reason []string
			rej                              []unmogrowp.Rejection
		)
		return []any{&id, &installTime, &device, &rejTouchpoint, &rejSource, &reason}, func(q *unmogrowp.ExportQuery, row []unmogrowp.ExportValue, emit func() error) error {
			var err error
			if rej, err = rejections(rej[:0], rejTouchpoint, rejSource, reason); err != nil {
				return fmt.Errorf("install event %s: %w", id, err)
			}
			return unmogrowp.EmitRejected(q, id, fromMicros(installTime), device, rej, row, emit)
		}
	},
}
