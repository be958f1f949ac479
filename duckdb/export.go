package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2/mapping"

	"github.com/unmogrowp/unmogrowp"
)

var _ unmogrowp.Exporter = (*Store)(nil)

// The raw export (unmogrowp.Exporter). DuckDB materializes a query's whole result before
// it hands over the first row, and sorts a query's whole result, so one query over a long
// range would hold every row at once: Export reads the range in windows of whole hours
// holding about ExportWindowRows rows each, planned from a count per hour, one sorted
// query each, all in one read transaction on one connection, so that the windows see one
// snapshot.
//
// The queries run through DuckDB's C API on the connection's handle (driverConnHandle),
// not database/sql: the rows are read from the result's vectors in place (readResult), and
// the next window's queries run while the current window's rows are written. A
// materialized result is DuckDB's own copy, which another goroutine may read while the
// connection runs the next query; every query still runs on the one connection, in its
// one transaction, one after the other. At most two windows' results are held at once.

// exportSpec is how the store reads one report: the table, its time column, the columns it
// selects in the order of unmogrowp.ExportFields (plus what fill needs), and how a row of
// them becomes an exported row.
type exportSpec struct {
	table   string
	timeCol string
	// selectFrom is "SELECT ... FROM ..." up to the WHERE clause.
	selectFrom string
	idCol      string
	extra      string // more conditions on the table, with no arguments
	// devices: the rows are events, which need their devices' latest install decisions
	// (deviceAttribution), read for each window before its rows.
	devices bool
	// newRow returns the scan destinations of one row and the function that turns them,
	// once scanned, into exported rows, which it passes to emit; devices holds the
	// window's devices' latest decisions when the spec asks for them.
	newRow func() (dest []any, fill func(q *unmogrowp.ExportQuery, row []unmogrowp.ExportValue, devices map[string]deviceAttribution, emit func() error) error)
}

var exportSpecs = map[string]*exportSpec{
	unmogrowp.ExportEvents:      eventsExport,
	unmogrowp.ExportInstalls:    installsExport,
	unmogrowp.ExportTouchpoints: touchpointsExport,
	unmogrowp.ExportRejected:    rejectedExport,
}

// Export streams q's rows to fn (unmogrowp.Exporter). It returns EUNAVAILABLE once the
// store is closed, and EINVALID for skan_postbacks and postback_deliveries, which it does
// not hold.
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
	most := s.exportRows
	if most == 0 {
		most = unmogrowp.ExportWindowRows
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("export %s: %w", q.Report, withCtx(ctx, err))
	}
	defer conn.Close()
	var fnErr error
	err = conn.Raw(func(dc any) error {
		h, err := driverConnHandle(dc)
		if err != nil {
			return err
		}
		if err := execPatiently(h, "BEGIN TRANSACTION"); err != nil {
			return err
		}
		err = exportTx(ctx, h, spec, &q, most, func(row []unmogrowp.ExportValue) error {
			fnErr = fn(row)
			return fnErr
		})
		if rbErr := execPatiently(h, "ROLLBACK"); rbErr != nil && err == nil {
			// The transaction may still be open: the connection must not go back to the pool.
			return errors.Join(fmt.Errorf("rollback: %w", rbErr), driver.ErrBadConn)
		}
		return err
	})
	switch {
	case fnErr != nil:
		return fnErr
	case err != nil:
		return fmt.Errorf("export %s: %w", q.Report, withCtx(ctx, err))
	}
	return nil
}

// exportWindow is one window's results, from the goroutine that runs the queries to the
// one that writes the rows.
type exportWindow struct {
	rows    mapping.Result               // the window's rows, sorted
	devices map[string]deviceAttribution // the events' devices' latest decisions
	err     error
}

// exportTx streams q's rows to emit inside the transaction open on conn: a goroutine runs
// each window's queries while this one reads the previous window's rows, each window's
// result passed over by a channel, two windows' worth of buffers going round.
func exportTx(ctx context.Context, conn mapping.Connection, spec *exportSpec, q *unmogrowp.ExportQuery, most int64, emit func([]unmogrowp.ExportValue) error) error {
	windows, err := exportWindows(ctx, conn, spec, q, most)
	if err != nil || len(windows) == 0 {
		return err
	}
	free := make(chan *exportWindow, 2)
	for range 2 {
		free <- &exportWindow{devices: map[string]deviceAttribution{}}
	}
	ready := make(chan *exportWindow, 2)
	stop := make(chan struct{})
	go func() {
		defer close(ready)
		for _, w := range windows {
			var b *exportWindow
			select {
			case b = <-free:
			case <-stop:
				return
			}
			where, args := exportWhere(spec, q, w.From, w.To)
			if spec.devices {
				b.err = readDevices(ctx, conn, where, args, b.devices)
			}
			if b.err == nil {
				query := spec.selectFrom + where + " ORDER BY " + spec.timeCol + ", " + spec.idCol + `, "partition", "offset"`
				b.rows, b.err = queryPatiently(ctx, conn, query, args)
			}
			ready <- b
			if b.err != nil {
				return
			}
		}
	}()
	dest, fill := spec.newRow()
	row := make([]unmogrowp.ExportValue, len(unmogrowp.ExportFields[q.Report]))
	for b := range ready {
		if err == nil {
			err = b.err
		}
		if b.err == nil {
			if err == nil {
				err = readResult(&b.rows, dest, func() error { return fill(q, row, b.devices, func() error { return emit(row) }) })
				if err != nil {
					close(stop) // the goroutine ends after the window it is on
				}
			}
			mapping.DestroyResult(&b.rows)
		}
		free <- b
	}
	return err
}

// deviceAttribution is what the events export takes of a device's latest install decision.
type deviceAttribution struct{ adset, ad, siteID, channel, matchType string }

// readDevices replaces what devices holds with the latest install decision of each device
// that has an event in the window (where, args): a map of at most the window's rows, so
// the export's memory stays bounded by the window. A join in the events query did the same
// at about 1.6 times the CPU per row.
//
// The window's devices come to the join as one list, unnested: DuckDB then knows how few
// they are and hashes them, probing with the app's installs. With them in a subquery
// (SELECT DISTINCT device_id ...), it hashed every install of the app for each window: a
// cost that grew with the store (on 10 million events, as much CPU as the window's rows
// took). A temporary table did as well as the list, but each window's copy stayed in
// memory until the transaction ended.
func readDevices(ctx context.Context, conn mapping.Connection, where string, args []any, devices map[string]deviceAttribution) error {
	clear(devices)
	res, err := queryPatiently(ctx, conn, `SELECT i.device_id, i.adset, i.ad, i.site_id, i.channel, i.match_type
		FROM installs i
		WHERE i.app_id = $1 AND i.device_id IN (SELECT unnest(w) FROM (SELECT list(DISTINCT device_id) AS w FROM events`+where+`))
		QUALIFY row_number() OVER (PARTITION BY i.device_id ORDER BY i."partition" DESC, i."offset" DESC) = 1`, args)
	if err != nil {
		return err
	}
	defer mapping.DestroyResult(&res)
	var (
		id string
		d  deviceAttribution
	)
	return readResult(&res, []any{&id, &d.adset, &d.ad, &d.siteID, &d.channel, &d.matchType}, func() error {
		devices[id] = d
		return nil
	})
}

// exportWindows plans q's windows from the count of its rows per hour.
func exportWindows(ctx context.Context, conn mapping.Connection, spec *exportSpec, q *unmogrowp.ExportQuery, most int64) ([]unmogrowp.ExportWindow, error) {
	where, args := exportWhere(spec, q, q.From, q.To)
	res, err := queryPatiently(ctx, conn, `SELECT date_trunc('hour', `+spec.timeCol+`) AS h, count(*) FROM `+spec.table+where+` GROUP BY h ORDER BY h`, args)
	if err != nil {
		return nil, err
	}
	defer mapping.DestroyResult(&res)
	var (
		counts []unmogrowp.HourCount
		c      unmogrowp.HourCount
	)
	err = readResult(&res, []any{&c.Hour, &c.Count}, func() error {
		counts = append(counts, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return unmogrowp.ExportWindows(q.From, q.To, counts, most), nil
}

// exportWhere is the WHERE clause of q's rows in [from, to), on the spec's table, with its
// arguments.
func exportWhere(spec *exportSpec, q *unmogrowp.ExportQuery, from, to time.Time) (string, []any) {
	t := spec.table + "."
	var conds []string
	var args []any
	add := func(cond string, arg any) { // cond's ? becomes the argument's $N, which may repeat
		args = append(args, arg)
		conds = append(conds, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	add(t+"app_id = ?", q.AppID) // $1, which the queries use too
	add(t+spec.timeCol+" >= ?", ceilMicro(from))
	add(t+spec.timeCol+" < ?", ceilMicro(to))
	if q.MediaSource != "" && q.Report != unmogrowp.ExportRejected { // rejected filters each rejection in Go
		if q.MediaSource == unmogrowp.MediaSourceOrganic {
			add("("+t+"media_source = ? OR "+t+"media_source = '')", q.MediaSource)
		} else {
			add(t+"media_source = ?", q.MediaSource)
		}
	}
	if q.Campaign != "" {
		add(t+"campaign = ?", q.Campaign)
	}
	if q.EventType != "" {
		add(t+"event_type = ?", q.EventType)
	}
	if spec.extra != "" {
		conds = append(conds, spec.extra)
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// eventsExport reads events, with the adset, ad, site, channel and match type of their
// device's latest install decision (readDevices), which the events table does not keep (it
// keeps the media source and campaign the event was attributed to when it was processed).
// Its text columns are read straight into their fields (textColumns).
var eventsExport = &exportSpec{
	table:   "events",
	timeCol: "event_time",
	idCol:   "event_id",
	selectFrom: `SELECT events.event_time, events.received_at, events.revenue, ` + textColumns("events", eventsText) + `
FROM events`,
	devices: true,
	newRow: func() ([]any, func(*unmogrowp.ExportQuery, []unmogrowp.ExportValue, map[string]deviceAttribution, func() error) error) {
		var (
			str       [32]string // by their field's position
			eventTime time.Time
			received  time.Time
			revenue   sql.NullFloat64
		)
		return textDest(str[:], eventsText, &eventTime, &received, &revenue), func(_ *unmogrowp.ExportQuery, row []unmogrowp.ExportValue, devices map[string]deviceAttribution, emit func() error) error {
			d := devices[str[4]]
			str[21], str[22], str[23], str[24], str[25] = d.adset, d.ad, d.siteID, d.channel, d.matchType
			for i := range row {
				row[i].SetString(str[i])
			}
			row[2].SetTime(utc(eventTime))
			row[3].SetTime(utc(received))
			row[17].SetFloat(revenue.Float64, revenue.Valid)
			row[26].SetJSON(str[26]) // NULL is read as '', which SetJSON takes as absent
			row[31].SetJSON(str[31])
			return emit()
		}
	},
}

// eventsText is the events export's text columns, read by textColumns, with the position
// of each one's field in unmogrowp.ExportFields.
var eventsText = []textColumn{
	{"event_id", 0}, {"event_type", 1}, {"device_id", 4}, {"user_id", 5}, {"session_id", 6},
	{"platform", 7}, {"os_version", 8}, {"app_version", 9}, {"device_model", 10},
	{"country", 11}, {"language", 12}, {"idfa", 13}, {"gaid", 14}, {"idfv", 15},
	{"android_id", 16}, {"currency", 18}, {"media_source", 19}, {"campaign", 20},
	{"event_data", 26}, {"att_status", 27}, {"install_referrer", 28}, {"ip", 29},
	{"user_agent", 30}, {"attribution", 31},
}

// textColumn is a text column of a table and the position of its field in an exported row.
type textColumn struct {
	name  string
	field int
}

// textColumns is the SQL that selects the table's columns cols, NULL as ”. They used to
// come packed in one VARCHAR, each as its length and text, which spared duckdb-go a Go
// string per column; with the rows read from the vectors in place (readResult), DuckDB's
// packing cost more than it saved: about two thirds of the events query's time.
func textColumns(table string, cols []textColumn) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = "coalesce(" + table + "." + c.name + ", '')"
	}
	return strings.Join(parts, ", ")
}

// textDest returns the scan destinations first, then str[c.field] for each column of
// cols, in the order of textColumns' SQL.
func textDest(str []string, cols []textColumn, first ...any) []any {
	dest := first
	for _, c := range cols {
		dest = append(dest, &str[c.field])
	}
	return dest
}

// installsExport reads install decisions.
var installsExport = &exportSpec{
	table:   "installs",
	timeCol: "install_time",
	idCol:   "install_event_id",
	selectFrom: `SELECT app_id, device_id, install_event_id, install_time, attributed, match_type,
	touch_type, touchpoint_id, touch_time, media_source, campaign, adset, ad, site_id, channel,
	click_id, deep_link_value, ctit_seconds, is_reinstall, is_reattribution, rejected,
	reattribution_kind
FROM installs`,
	newRow: func() ([]any, func(*unmogrowp.ExportQuery, []unmogrowp.ExportValue, map[string]deviceAttribution, func() error) error) {
		var (
			str                             [22]string
			installTime                     time.Time
			touchTime                       sql.NullTime
			attributed, reinstall, reattrib bool
			ctit                            int64
		)
		dest := []any{&str[0], &str[1], &str[2], &installTime, &attributed, &str[5], &str[6], &str[7], &touchTime}
		for i := 9; i <= 16; i++ {
			dest = append(dest, &str[i])
		}
		dest = append(dest, &ctit, &reinstall, &reattrib, &str[20], &str[21])
		return dest, func(_ *unmogrowp.ExportQuery, row []unmogrowp.ExportValue, _ map[string]deviceAttribution, emit func() error) error {
			for i := range row {
				row[i].SetString(str[i])
			}
			row[3].SetTime(utc(installTime))
			row[4].SetBool(attributed)
			row[8].SetTime(time.Time{})
			if touchTime.Valid {
				row[8].SetTime(utc(touchTime.Time))
			}
			row[17].SetInt(ctit)
			row[18].SetBool(reinstall)
			row[19].SetBool(reattrib)
			row[20].SetJSON(str[20])
			return emit()
		}
	},
}

// touchpointsExport reads touchpoints, their text columns read as the events'.
var touchpointsExport = &exportSpec{
	table:      "touchpoints",
	timeCol:    "touch_time",
	idCol:      "touchpoint_id",
	selectFrom: `SELECT touch_time, received_at, ` + textColumns("touchpoints", touchpointsText) + ` FROM touchpoints`,
	newRow: func() ([]any, func(*unmogrowp.ExportQuery, []unmogrowp.ExportValue, map[string]deviceAttribution, func() error) error) {
		var (
			str                 [24]string // by their field's position
			touchTime, received time.Time
		)
		return textDest(str[:], touchpointsText, &touchTime, &received), func(_ *unmogrowp.ExportQuery, row []unmogrowp.ExportValue, _ map[string]deviceAttribution, emit func() error) error {
			for i := range row {
				row[i].SetString(str[i])
			}
			row[2].SetTime(utc(touchTime))
			row[18].SetTime(utc(received))
			return emit()
		}
	},
}

// touchpointsText is the touchpoints export's text columns, as eventsText.
var touchpointsText = []textColumn{
	{"touchpoint_id", 0}, {"type", 1}, {"media_source", 3}, {"campaign", 4}, {"adset", 5},
	{"ad", 6}, {"site_id", 7}, {"channel", 8}, {"click_id", 9}, {"link_id", 10}, {"ip", 11},
	{"user_agent", 12}, {"idfa", 13}, {"gaid", 14}, {"android_id", 15}, {"device_id", 16},
	{"deep_link_value", 17}, {"sub1", 19}, {"sub2", 20}, {"sub3", 21}, {"sub4", 22}, {"sub5", 23},
}

// rejectedExport reads the install decisions with rejected touchpoints and writes a row per
// rejected touchpoint, in the order the decision lists them.
var rejectedExport = &exportSpec{
	table:      "installs",
	timeCol:    "install_time",
	idCol:      "install_event_id",
	extra:      "installs.rejected_count > 0",
	selectFrom: `SELECT install_event_id, install_time, device_id, rejected FROM installs`,
	newRow: func() ([]any, func(*unmogrowp.ExportQuery, []unmogrowp.ExportValue, map[string]deviceAttribution, func() error) error) {
		var (
			id, device, rejected string
			installTime          time.Time
			list                 []unmogrowp.Rejection
		)
		return []any{&id, &installTime, &device, &rejected}, func(q *unmogrowp.ExportQuery, row []unmogrowp.ExportValue, _ map[string]deviceAttribution, emit func() error) error {
			list = list[:0]
			if err := json.Unmarshal([]byte(rejected), &list); err != nil {
				return fmt.Errorf("install event %s: rejected: %w", id, err)
			}
			return unmogrowp.EmitRejected(q, id, utc(installTime), device, list, row, emit)
		}
	},
}
