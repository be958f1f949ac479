package clickhouse

import (
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/unmogrowp/unmogrowp"
)

// A table's rows go to ClickHouse by column: each column a typed slice, appended to the
// INSERT's block whole, which is the native protocol's own layout. The functions below
// turn a batch's rows of one kind into those columns; with no rows they still name the
// columns, which checkColumns compares with the table on open.

// columns are the columns of an INSERT: their names and, in the same order, one function
// each that returns the column's values of rows [lo, hi) as a typed slice. The slice is
// the column's own buffer, reused by its next call: the values must be copied (as
// clickhouse-go's Append does) before the next.
type columns struct {
	names []string
	rows  int
	chunk []func(lo, hi int) any
}

// add appends a column of n values of type T, value i being get(i).
func add[T any](c *columns, name string, n int, get func(i int) T) {
	var buf []T
	c.names = append(c.names, name)
	c.rows = n
	c.chunk = append(c.chunk, func(lo, hi int) any {
		buf = buf[:0]
		for i := lo; i < hi; i++ {
			buf = append(buf, get(i))
		}
		return buf
	})
}

// insert is the INSERT statement of the columns into table, columns named.
func (c *columns) insert(table string) string {
	quoted := make([]string, len(c.names))
	for i, n := range c.names {
		quoted[i] = `"` + n + `"`
	}
	return "INSERT INTO " + table + " (" + strings.Join(quoted, ", ") + ")"
}

// eventColumns returns the events table's columns of es.
func eventColumns(es []unmogrowp.Event) *columns {
	c, n := &columns{}, len(es)
	add(c, "partition", n, func(i int) int32 { return es[i].Partition })
	add(c, "offset", n, func(i int) int64 { return es[i].Offset })
	str := func(name string, get func(e *unmogrowp.Event) string) {
		add(c, name, n, func(i int) string { return validUTF8(get(&es[i])) })
	}
	tm := func(name string, get func(e *unmogrowp.Event) time.Time) {
		add(c, name, n, func(i int) int64 { return micros(get(&es[i])) })
	}
	str("event_id", func(e *unmogrowp.Event) string { return e.EventID })
	str("app_id", func(e *unmogrowp.Event) string { return e.AppID })
	str("event_type", func(e *unmogrowp.Event) string { return e.EventType })
	str("device_id", func(e *unmogrowp.Event) string { return e.DeviceID })
	str("user_id", func(e *unmogrowp.Event) string { return e.UserID })
	str("session_id", func(e *unmogrowp.Event) string { return e.SessionID })
	tm("event_time", func(e *unmogrowp.Event) time.Time { return e.Timestamp })
	tm("received_at", func(e *unmogrowp.Event) time.Time { return e.ReceivedAt })
	str("platform", func(e *unmogrowp.Event) string { return e.Platform })
	str("os_version", func(e *unmogrowp.Event) string { return e.OSVersion })
	str("app_version", func(e *unmogrowp.Event) string { return e.AppVersion })
	str("device_model", func(e *unmogrowp.Event) string { return e.DeviceModel })
	str("country", func(e *unmogrowp.Event) string { return e.Country })
	str("language", func(e *unmogrowp.Event) string { return e.Language })
	str("idfa", func(e *unmogrowp.Event) string { return e.IDFA })
	str("gaid", func(e *unmogrowp.Event) string { return e.GAID })
	str("idfv", func(e *unmogrowp.Event) string { return e.IDFV })
	str("android_id", func(e *unmogrowp.Event) string { return e.AndroidID })
	str("att_status", func(e *unmogrowp.Event) string { return e.ATTStatus })
	str("install_referrer", func(e *unmogrowp.Event) string { return e.InstallReferrer })
	tm("install_begin_at", func(e *unmogrowp.Event) time.Time { return e.InstallBeginAt })
	add(c, "revenue", n, func(i int) float64 {
		if !es[i].HasRevenue {
			return 0
		}
		return es[i].Revenue
	})
	add(c, "has_revenue", n, func(i int) uint8 { return uint8Of(es[i].HasRevenue) })
	str("currency", func(e *unmogrowp.Event) string { return e.Currency })
	str("ip", func(e *unmogrowp.Event) string { return e.IP })
	str("user_agent", func(e *unmogrowp.Event) string { return e.UserAgent })
	str("attribution", func(e *unmogrowp.Event) string { return bytesString(e.Attribution) })
	str("event_data", func(e *unmogrowp.Event) string { return bytesString(e.EventData) })
	str("media_source", func(e *unmogrowp.Event) string { return e.MediaSource })
	str("campaign", func(e *unmogrowp.Event) string { return e.Campaign })
	return c
}

// touchpointColumns returns the touchpoints table's columns of tps.
func touchpointColumns(tps []unmogrowp.Touchpoint) *columns {
	c, n := &columns{}, len(tps)
	add(c, "partition", n, func(i int) int32 { return tps[i].Partition })
	add(c, "offset", n, func(i int) int64 { return tps[i].Offset })
	str := func(name string, get func(tp *unmogrowp.Touchpoint) string) {
		add(c, name, n, func(i int) string { return validUTF8(get(&tps[i])) })
	}
	str("touchpoint_id", func(tp *unmogrowp.Touchpoint) string { return tp.ID })
	str("app_id", func(tp *unmogrowp.Touchpoint) string { return tp.AppID })
	str("type", func(tp *unmogrowp.Touchpoint) string { return tp.Type })
	str("link_id", func(tp *unmogrowp.Touchpoint) string { return tp.LinkID })
	str("media_source", func(tp *unmogrowp.Touchpoint) string { return tp.MediaSource })
	str("campaign", func(tp *unmogrowp.Touchpoint) string { return tp.Campaign })
	str("adset", func(tp *unmogrowp.Touchpoint) string { return tp.Adset })
	str("ad", func(tp *unmogrowp.Touchpoint) string { return tp.Ad })
	str("site_id", func(tp *unmogrowp.Touchpoint) string { return tp.SiteID })
	str("channel", func(tp *unmogrowp.Touchpoint) string { return tp.Channel })
	str("click_id", func(tp *unmogrowp.Touchpoint) string { return tp.ClickID })
	add(c, "touch_time", n, func(i int) int64 { return micros(tps[i].Time) })
	add(c, "received_at", n, func(i int) int64 { return micros(tps[i].ReceivedAt) })
	str("ip", func(tp *unmogrowp.Touchpoint) string { return tp.IP })
	str("user_agent", func(tp *unmogrowp.Touchpoint) string { return tp.UserAgent })
	str("idfa", func(tp *unmogrowp.Touchpoint) string { return tp.IDFA })
	str("gaid", func(tp *unmogrowp.Touchpoint) string { return tp.GAID })
	str("android_id", func(tp *unmogrowp.Touchpoint) string { return tp.AndroidID })
	str("device_id", func(tp *unmogrowp.Touchpoint) string { return tp.DeviceID })
	str("deep_link_value", func(tp *unmogrowp.Touchpoint) string { return tp.DeepLinkValue })
	for k := range 5 {
		str("sub"+string(rune('1'+k)), func(tp *unmogrowp.Touchpoint) string { return tp.Sub[k] })
	}
	str("cost_model", func(tp *unmogrowp.Touchpoint) string { return tp.CostModel })
	add(c, "cost_value", n, func(i int) float64 { return tps[i].CostValue })
	str("cost_currency", func(tp *unmogrowp.Touchpoint) string { return tp.CostCurrency })
	return c
}

// installColumns returns the installs table's columns of ins.
func installColumns(ins []unmogrowp.Install) *columns {
	c, n := &columns{}, len(ins)
	add(c, "partition", n, func(i int) int32 { return ins[i].Partition })
	add(c, "offset", n, func(i int) int64 { return ins[i].Offset })
	str := func(name string, get func(in *unmogrowp.Install) string) {
		add(c, name, n, func(i int) string { return validUTF8(get(&ins[i])) })
	}
	rejected := func(name string, get func(r *unmogrowp.Rejection) string) {
		add(c, name, n, func(i int) []string {
			out := make([]string, len(ins[i].Rejected))
			for k := range out {
				out[k] = validUTF8(get(&ins[i].Rejected[k]))
			}
			return out
		})
	}
	str("app_id", func(in *unmogrowp.Install) string { return in.AppID })
	str("device_id", func(in *unmogrowp.Install) string { return in.DeviceID })
	str("install_event_id", func(in *unmogrowp.Install) string { return in.InstallEventID })
	add(c, "install_time", n, func(i int) int64 { return micros(ins[i].InstallTime) })
	add(c, "attributed", n, func(i int) uint8 { return uint8Of(ins[i].Attributed) })
	str("match_type", func(in *unmogrowp.Install) string { return in.MatchType })
	str("touch_type", func(in *unmogrowp.Install) string { return in.TouchType })
	str("touchpoint_id", func(in *unmogrowp.Install) string { return in.TouchpointID })
	add(c, "touch_time", n, func(i int) int64 { return micros(ins[i].TouchTime) })
	str("media_source", func(in *unmogrowp.Install) string { return in.MediaSource })
	str("campaign", func(in *unmogrowp.Install) string { return in.Campaign })
	str("adset", func(in *unmogrowp.Install) string { return in.Adset })
	str("ad", func(in *unmogrowp.Install) string { return in.Ad })
	str("site_id", func(in *unmogrowp.Install) string { return in.SiteID })
	str("channel", func(in *unmogrowp.Install) string { return in.Channel })
	str("click_id", func(in *unmogrowp.Install) string { return in.ClickID })
	str("deep_link_value", func(in *unmogrowp.Install) string { return in.DeepLinkValue })
	add(c, "ctit_seconds", n, func(i int) int64 { return ins[i].CTITSeconds })
	add(c, "is_reinstall", n, func(i int) uint8 { return uint8Of(ins[i].IsReinstall) })
	add(c, "is_reattribution", n, func(i int) uint8 { return uint8Of(ins[i].IsReattribution) })
	rejected("rejected_touchpoint_id", func(r *unmogrowp.Rejection) string { return r.TouchpointID })
	rejected("rejected_media_source", func(r *unmogrowp.Rejection) string { return r.MediaSource })
	rejected("rejected_reason", func(r *unmogrowp.Rejection) string { return r.Reason })
	add(c, "first_install_time", n, func(i int) int64 { return micros(ins[i].FirstInstallTime) })
	str("reattribution_kind", func(in *unmogrowp.Install) string { return in.ReattributionKind })
	str("original_media_source", func(in *unmogrowp.Install) string { return in.OriginalMediaSource })
	str("original_campaign", func(in *unmogrowp.Install) string { return in.OriginalCampaign })
	return c
}

// The store keeps times as Int64 microseconds since the Unix epoch (see
// 0001_events.sql): every time.Time down to the microsecond, the zero time included.

// micros is t in Unix microseconds, rounded down.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros is the UTC time of us Unix microseconds, and the zero time for the stored
// form of the zero time.
func fromMicros(us int64) time.Time {
	t := time.UnixMicro(us).UTC()
	if t.IsZero() {
		return time.Time{}
	}
	return t
}

// ceilMicros is t rounded up to the microsecond, in Unix microseconds. Stored times are
// whole microseconds, so for any stored time x: x >= t exactly when x >= ceilMicros(t),
// and likewise for <.
func ceilMicros(t time.Time) int64 {
	us := t.UnixMicro()
	if time.UnixMicro(us).Before(t) {
		us++
	}
	return us
}

// uint8Of is 1 for true, 0 for false: ClickHouse 18.16 has no Bool type.
func uint8Of(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// validUTF8 returns s, with invalid UTF-8 sequences replaced by U+FFFD, as package duckdb
// stores them (ClickHouse would keep the bytes, and the two stores would differ).
// bytesString returns b's bytes as a string without copying them: b must not change while
// the string is in use. The columns' strings are copied into clickhouse-go's buffers
// before the next chunk is built, and a batch's raw JSON does not change once decoded.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
