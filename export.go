package unmogrowp

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Reports of the pulled raw export (GET /api/apps/{app_id}/export/{report}).
const (
	ExportInstalls           = "installs"            // install decisions, reinstalls and re-attributions included
	ExportEvents             = "events"              // stored events
	ExportTouchpoints        = "touchpoints"         // clicks and impressions
	ExportRejected           = "rejected"            // one row per rejected touchpoint of an install decision
	ExportSKANPostbacks      = "skan_postbacks"      // SKAdNetwork postbacks: no store holds them yet
	ExportPostbackDeliveries = "postback_deliveries" // the outbox's deliveries
)

// ExportReports lists the export's reports in the order the documentation gives them.
var ExportReports = []string{
	ExportInstalls, ExportEvents, ExportTouchpoints, ExportRejected, ExportSKANPostbacks,
	ExportPostbackDeliveries,
}

// MaxExportRange is the longest time range one export may cover.
const MaxExportRange = 93 * 24 * time.Hour

// ExportFields are each report's fields, in the order an export writes them when it is not
// given fields=. A store's Export fills a row's values in exactly this order. Names are the
// API's; docs/export.md says what each holds.
var ExportFields = map[string][]string{
	ExportInstalls: {
		"app_id", "device_id", "install_event_id", "install_time", "attributed", "match_type",
		"touch_type", "touchpoint_id", "touch_time", "media_source", "campaign", "adset", "ad",
		"site_id", "channel", "click_id", "deep_link_value", "ctit_seconds", "is_reinstall",
		"is_reattribution", "rejected", "reattribution_kind",
	},
	ExportEvents: {
		"event_id", "event_type", "timestamp", "received_at", "device_id", "user_id",
		"session_id", "platform", "os_version", "app_version", "device_model", "country",
		"language", "idfa", "gaid", "idfv", "android_id", "revenue", "currency", "media_source",
		"campaign", "adset", "ad", "site_id", "channel", "match_type", "event_data",
		"att_status", "install_referrer", "ip", "user_agent", "attribution",
	},
	ExportTouchpoints: {
		"touchpoint_id", "type", "timestamp", "media_source", "campaign", "adset", "ad",
		"site_id", "channel", "click_id", "link_id", "ip", "user_agent", "idfa", "gaid",
		"android_id", "device_id", "deep_link_value", "received_at", "sub1", "sub2", "sub3",
		"sub4", "sub5",
	},
	ExportRejected: {
		"install_event_id", "install_time", "device_id", "touchpoint_id", "media_source",
		"reason",
	},
	ExportSKANPostbacks: {
		"postback_id", "received_at", "version", "ad_network_id", "source_identifier",
		"conversion_value", "coarse_conversion_value", "postback_sequence_index",
		"media_source", "campaign",
	},
	ExportPostbackDeliveries: {
		"delivery_id", "created_at", "postback_id", "activity_kind", "status", "method", "url",
		"attempts", "last_status", "last_error", "delivered_at",
	},
}

// ExportQuery is what one export reads: an app's rows of one report with their time in
// [From, To) (event time for events, install time for installs and rejected, touch time
// for touchpoints, creation time for deliveries), keeping only those of MediaSource,
// Campaign and, for events, EventType when they are set. A MediaSource of "organic"
// matches the events stored with no media source as well, as the reports count them.
type ExportQuery struct {
	AppID       string
	Report      string // one of ExportReports
	From, To    time.Time
	MediaSource string
	Campaign    string
	EventType   string
}

// Check returns an *Error with code EINVALID, naming the parameter, for a query no export
// takes: an unknown report, a missing or reversed range, one longer than MaxExportRange,
// or event_type on another report than events.
func (q *ExportQuery) Check() error {
	switch {
	case !slices.Contains(ExportReports, q.Report):
		return Errorf(ENOTFOUND, "No such export: the reports are %s.", strings.Join(ExportReports, ", "))
	case q.From.IsZero():
		return Errorf(EINVALID, "from is required.")
	case q.To.IsZero():
		return Errorf(EINVALID, "to is required.")
	case q.To.Before(q.From):
		return Errorf(EINVALID, "to must not be before from.")
	case q.To.Sub(q.From) > MaxExportRange:
		return Errorf(EINVALID, "from and to must be at most 93 days apart.")
	case q.EventType != "" && q.Report != ExportEvents:
		return Errorf(EINVALID, "event_type filters only the events export.")
	case q.Campaign != "" && q.Report == ExportRejected:
		return Errorf(EINVALID, "campaign does not filter the rejected export: a rejected touchpoint's campaign is not kept.")
	case (q.MediaSource != "" || q.Campaign != "") && q.Report == ExportPostbackDeliveries:
		return Errorf(EINVALID, "media_source and campaign do not filter the postback_deliveries export.")
	}
	return nil
}

// ExportSelect returns the positions in ExportFields[report] of the named fields, in the
// order given; no names select every field. It returns an *Error with code EINVALID naming
// the first unknown or repeated field.
func ExportSelect(report string, names []string) ([]int, error) {
	all := ExportFields[report]
	if len(names) == 0 {
		sel := make([]int, len(all))
		for i := range sel {
			sel[i] = i
		}
		return sel, nil
	}
	sel := make([]int, 0, len(names))
	for _, n := range names {
		i := slices.Index(all, n)
		switch {
		case i < 0:
			return nil, Errorf(EINVALID, "fields: %q is not a field of the %s export.", n, report)
		case slices.Contains(sel, i):
			return nil, Errorf(EINVALID, "fields: %q is given twice.", n)
		}
		sel = append(sel, i)
	}
	return sel, nil
}

// Exporter streams an app's raw rows out of the analytics store. Implementations: package
// duckdb and package clickhouse.
type Exporter interface {
	// Export calls fn with each row of q (q.Report one of ExportInstalls, ExportEvents,
	// ExportTouchpoints, ExportRejected), ordered by the row's time, then its id (event,
	// touchpoint or install event id), then its log position; row holds the values of
	// ExportFields[q.Report] in that order. fn must not keep row: it is reused. Memory does
	// not grow with the number of rows: the store reads the range in windows of about
	// ExportWindowRows rows (an hour is never split, so one hour's rows bound it). It stops
	// at fn's first error and returns it. Returns EINVALID for a query Check refuses or a
	// report it does not hold, ctx.Err() when ctx is done, EUNAVAILABLE when the store
	// cannot answer.
	Export(ctx context.Context, q ExportQuery, fn func(row []ExportValue) error) error
}

// ExportWindowRows is about how many rows one window of an export reads at once.
const ExportWindowRows = 50_000

// HourCount is how many rows of an export lie in the hour that starts at Hour.
type HourCount struct {
	Hour  time.Time
	Count int64
}

// ExportWindow is a time range [From, To) of an export, read in one query.
type ExportWindow struct{ From, To time.Time }

// ExportWindows splits [from, to) into consecutive windows of whole hours (the first and
// last clipped to the range) that hold about most rows each by counts, the rows per hour
// in ascending order of hour; an hour with more rows than most is a window of its own, and
// hours with no rows join their neighbours. No counts gives no windows.
func ExportWindows(from, to time.Time, counts []HourCount, most int64) []ExportWindow {
	if len(counts) == 0 {
		return nil
	}
	var out []ExportWindow
	start, n := from, int64(0)
	for _, c := range counts {
		if n > 0 && n+c.Count > most {
			out = append(out, ExportWindow{start, c.Hour})
			start, n = c.Hour, 0
		}
		n += c.Count
	}
	return append(out, ExportWindow{start, to})
}

// ExportValue is one value of an exported row. Kind says which field holds it.
type ExportValue struct {
	Kind ExportKind
	Str  string    // ExportString; ExportJSON: JSON text, "" when absent
	Time time.Time // ExportTime: the zero time when absent
	Int  int64     // ExportInt
	Num  float64   // ExportFloat
	Bool bool      // ExportBool; ExportFloat: whether Num is present
}

// ExportKind is the type of an ExportValue.
type ExportKind uint8

// The kinds of ExportValue.
const (
	ExportString ExportKind = iota
	ExportJSON              // a nested value: JSON text, written as JSON in NDJSON and as its text in CSV
	ExportTime
	ExportInt
	ExportFloat
	ExportBool
)

// SetString sets v to the string s.
func (v *ExportValue) SetString(s string) { *v = ExportValue{Kind: ExportString, Str: s} }

// SetJSON sets v to the JSON text j ("" for absent).
func (v *ExportValue) SetJSON(j string) { *v = ExportValue{Kind: ExportJSON, Str: j} }

// SetTime sets v to t (the zero time for absent).
func (v *ExportValue) SetTime(t time.Time) { *v = ExportValue{Kind: ExportTime, Time: t} }

// SetInt sets v to n.
func (v *ExportValue) SetInt(n int64) { *v = ExportValue{Kind: ExportInt, Int: n} }

// SetFloat sets v to f, or to absent when ok is false.
func (v *ExportValue) SetFloat(f float64, ok bool) {
	*v = ExportValue{Kind: ExportFloat, Num: f, Bool: ok}
}

// SetBool sets v to b.
func (v *ExportValue) SetBool(b bool) { *v = ExportValue{Kind: ExportBool, Bool: b} }

// EmitRejected fills row with each of an install decision's rejected touchpoints in turn
// (the fields of ExportFields[ExportRejected]) and calls emit, skipping those of another
// media source than q.MediaSource when it is set: the stores' rejected export.
func EmitRejected(q *ExportQuery, installEventID string, installTime time.Time, deviceID string, rejected []Rejection, row []ExportValue, emit func() error) error {
	for _, r := range rejected {
		if q.MediaSource != "" && r.MediaSource != q.MediaSource {
			continue
		}
		row[0].SetString(installEventID)
		row[1].SetTime(installTime)
		row[2].SetString(deviceID)
		row[3].SetString(r.TouchpointID)
		row[4].SetString(r.MediaSource)
		row[5].SetString(r.Reason)
		if err := emit(); err != nil {
			return err
		}
	}
	return nil
}

// exportKinds are the kinds of the fields that are not ExportString, by report.
var exportKinds = map[string]map[string]ExportKind{
	ExportInstalls: {
		"install_time": ExportTime, "attributed": ExportBool, "touch_time": ExportTime,
		"ctit_seconds": ExportInt, "is_reinstall": ExportBool, "is_reattribution": ExportBool,
		"rejected": ExportJSON,
	},
	ExportEvents: {
		"timestamp": ExportTime, "received_at": ExportTime, "revenue": ExportFloat,
		"event_data": ExportJSON, "attribution": ExportJSON,
	},
	ExportTouchpoints: {"timestamp": ExportTime, "received_at": ExportTime},
	ExportRejected:    {"install_time": ExportTime},
	ExportSKANPostbacks: {
		"received_at": ExportTime, "conversion_value": ExportInt, "postback_sequence_index": ExportInt,
	},
	ExportPostbackDeliveries: {
		"created_at": ExportTime, "attempts": ExportInt, "last_status": ExportInt, "delivered_at": ExportTime,
	},
}

// ExportKindOf is the kind of every value of a report's field: what a store's Export sets
// it to (typed exports, such as Parquet, declare their columns by it).
func ExportKindOf(report, field string) ExportKind {
	return exportKinds[report][field] // ExportString, the zero kind, for the others
}

// DeliveryRow fills row with d's fields of the postback_deliveries export.
func DeliveryRow(row []ExportValue, d *Delivery) {
	row[0].SetString(d.ID)
	row[1].SetTime(d.CreatedAt)
	row[2].SetString(d.PostbackID)
	row[3].SetString(d.ActivityKind)
	row[4].SetString(d.Status)
	row[5].SetString(d.Method)
	row[6].SetString(d.URL)
	row[7].SetInt(int64(d.Attempts))
	row[8].SetInt(int64(d.LastStatus))
	row[9].SetString(d.LastError)
	row[10].SetTime(d.DeliveredAt)
}
