package duckdb

import (
	"database/sql/driver"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/unmogrowp/unmogrowp"
)

// A table's row layout is a list of its columns in table order, which is the order of the
// values its fill function gives duckdb-go's appender, and a list of their DuckDB types,
// which its put function writes into a chunk (chunk.go). checkColumns compares the
// columns with the table on open; the chunk appender compares the types with the table's
// before it writes.

// table is a table the store appends to, its columns in table order and their types.
type table struct {
	name    string
	columns []string
	kinds   []vectorKind
}

// The tables the store appends to: the log's rows, device_days (activity.go) and
// device_revenue (revenue.go).
var (
	eventsTable      = table{"events", eventColumns, eventKinds}
	touchpointsTable = table{"touchpoints", touchpointColumns, touchpointKinds}
	installsTable    = table{"installs", installColumns, installKinds}
	tables           = []table{eventsTable, touchpointsTable, installsTable, deviceDaysTable, deviceRevenueTable}
)

// eventColumns are the events table's columns in table order (0001_events.sql still calls
// the list "columns in store.go").
var eventColumns = []string{
	"partition", "offset", "event_id", "app_id", "event_type", "device_id", "user_id",
	"session_id", "event_time", "received_at", "platform", "os_version", "app_version",
	"device_model", "country", "language", "idfa", "gaid", "idfv", "android_id", "att_status",
	"install_referrer", "install_begin_at", "revenue", "currency", "ip", "user_agent",
	"attribution", "event_data", "media_source", "campaign",
}

// eventKinds are the types of eventColumns.
var eventKinds = []vectorKind{
	kindInteger, kindBigint, kindVarchar, kindVarchar, kindVarchar, kindVarchar, kindVarchar, // partition .. user_id
	kindVarchar, kindTimestamp, kindTimestamp, kindVarchar, kindVarchar, kindVarchar, // session_id .. app_version
	kindVarchar, kindVarchar, kindVarchar, kindVarchar, kindVarchar, kindVarchar, kindVarchar, // device_model .. android_id
	kindVarchar, kindVarchar, kindTimestamp, kindDouble, kindVarchar, kindVarchar, // att_status .. ip
	kindVarchar, kindVarchar, kindVarchar, kindVarchar, kindVarchar, // user_agent .. campaign
}

// putEvent writes e into row r of c, in the order of eventColumns, with the values
// fillEvent gives.
func putEvent(c *chunk, r int, e *unmogrowp.Event) {
	c.setInteger(0, r, e.Partition)
	c.setBigint(1, r, e.Offset)
	c.setVarchar(2, r, e.EventID)
	c.setVarchar(3, r, e.AppID)
	c.setVarchar(4, r, e.EventType)
	c.setVarchar(5, r, e.DeviceID)
	c.setVarchar(6, r, e.UserID)
	c.setVarchar(7, r, e.SessionID)
	c.setTimestamp(8, r, e.Timestamp)
	c.setTimestamp(9, r, e.ReceivedAt)
	c.setVarchar(10, r, e.Platform)
	c.setVarchar(11, r, e.OSVersion)
	c.setVarchar(12, r, e.AppVersion)
	c.setVarchar(13, r, e.DeviceModel)
	c.setVarchar(14, r, e.Country)
	c.setVarchar(15, r, e.Language)
	c.setVarchar(16, r, e.IDFA)
	c.setVarchar(17, r, e.GAID)
	c.setVarchar(18, r, e.IDFV)
	c.setVarchar(19, r, e.AndroidID)
	c.setVarchar(20, r, e.ATTStatus)
	c.setVarchar(21, r, e.InstallReferrer)
	c.setNullTimestamp(22, r, e.InstallBeginAt)
	c.setNullDouble(23, r, e.Revenue, e.HasRevenue)
	c.setVarchar(24, r, e.Currency)
	c.setVarchar(25, r, e.IP)
	c.setVarchar(26, r, e.UserAgent)
	c.setNullJSON(27, r, e.Attribution)
	c.setNullJSON(28, r, e.EventData)
	c.setVarchar(29, r, e.MediaSource)
	c.setVarchar(30, r, e.Campaign)
}

// fillEvent sets row to e's values in the order of eventColumns.
func fillEvent(row []driver.Value, e *unmogrowp.Event) {
	row[0] = e.Partition
	row[1] = e.Offset
	row[2] = validUTF8(e.EventID)
	row[3] = validUTF8(e.AppID)
	row[4] = validUTF8(e.EventType)
	row[5] = validUTF8(e.DeviceID)
	row[6] = validUTF8(e.UserID)
	row[7] = validUTF8(e.SessionID)
	row[8] = e.Timestamp
	row[9] = e.ReceivedAt
	row[10] = validUTF8(e.Platform)
	row[11] = validUTF8(e.OSVersion)
	row[12] = validUTF8(e.AppVersion)
	row[13] = validUTF8(e.DeviceModel)
	row[14] = validUTF8(e.Country)
	row[15] = validUTF8(e.Language)
	row[16] = validUTF8(e.IDFA)
	row[17] = validUTF8(e.GAID)
	row[18] = validUTF8(e.IDFV)
	row[19] = validUTF8(e.AndroidID)
	row[20] = validUTF8(e.ATTStatus)
	row[21] = validUTF8(e.InstallReferrer)
	row[22] = nullTime(e.InstallBeginAt)
	row[23] = nil
	if e.HasRevenue {
		row[23] = e.Revenue
	}
	row[24] = validUTF8(e.Currency)
	row[25] = validUTF8(e.IP)
	row[26] = validUTF8(e.UserAgent)
	row[27] = nullJSON(e.Attribution)
	row[28] = nullJSON(e.EventData)
	row[29] = validUTF8(e.MediaSource)
	row[30] = validUTF8(e.Campaign)
}

// touchpointColumns are the touchpoints table's columns in table order.
var touchpointColumns = []string{
	"partition", "offset", "touchpoint_id", "app_id", "type", "link_id", "media_source",
	"campaign", "adset", "ad", "site_id", "channel", "click_id", "touch_time", "received_at",
	"ip", "user_agent", "idfa", "gaid", "android_id", "device_id", "deep_link_value",
	"sub1", "sub2", "sub3", "sub4", "sub5", "cost_model", "cost_value", "cost_currency",
}

// touchpointKinds are the types of touchpointColumns.
var touchpointKinds = []vectorKind{
	kindInteger, kindBigint, kindVarchar, kindVarchar, kindVarchar, kindVarchar, kindVarchar, // partition .. media_source
	kindVarchar, kindVarchar, kindVarchar, kindVarchar, kindVarchar, kindVarchar, // campaign .. click_id
	kindTimestamp, kindTimestamp, kindVarchar, kindVarchar, kindVarchar, kindVarchar, kindVarchar, // touch_time .. android_id
	kindVarchar, kindVarchar, kindVarchar, kindVarchar, kindVarchar, kindVarchar, kindVarchar, // device_id .. sub5
	kindVarchar, kindDouble, kindVarchar, // cost_model .. cost_currency (0007)
}

// putTouchpoint writes tp into row r of c, in the order of touchpointColumns, with the
// values fillTouchpoint gives.
func putTouchpoint(c *chunk, r int, tp *unmogrowp.Touchpoint) {
	c.setInteger(0, r, tp.Partition)
	c.setBigint(1, r, tp.Offset)
	c.setVarchar(2, r, tp.ID)
	c.setVarchar(3, r, tp.AppID)
	c.setVarchar(4, r, tp.Type)
	c.setVarchar(5, r, tp.LinkID)
	c.setVarchar(6, r, tp.MediaSource)
	c.setVarchar(7, r, tp.Campaign)
	c.setVarchar(8, r, tp.Adset)
	c.setVarchar(9, r, tp.Ad)
	c.setVarchar(10, r, tp.SiteID)
	c.setVarchar(11, r, tp.Channel)
	c.setVarchar(12, r, tp.ClickID)
	c.setTimestamp(13, r, tp.Time)
	c.setTimestamp(14, r, tp.ReceivedAt)
	c.setVarchar(15, r, tp.IP)
	c.setVarchar(16, r, tp.UserAgent)
	c.setVarchar(17, r, tp.IDFA)
	c.setVarchar(18, r, tp.GAID)
	c.setVarchar(19, r, tp.AndroidID)
	c.setVarchar(20, r, tp.DeviceID)
	c.setVarchar(21, r, tp.DeepLinkValue)
	for i, sub := range tp.Sub {
		c.setVarchar(22+i, r, sub)
	}
	c.setVarchar(27, r, tp.CostModel)
	c.setDouble(28, r, tp.CostValue)
	c.setVarchar(29, r, tp.CostCurrency)
}

// fillTouchpoint sets row to tp's values in the order of touchpointColumns.
func fillTouchpoint(row []driver.Value, tp *unmogrowp.Touchpoint) {
	row[0] = tp.Partition
	row[1] = tp.Offset
	row[2] = validUTF8(tp.ID)
	row[3] = validUTF8(tp.AppID)
	row[4] = validUTF8(tp.Type)
	row[5] = validUTF8(tp.LinkID)
	row[6] = validUTF8(tp.MediaSource)
	row[7] = validUTF8(tp.Campaign)
	row[8] = validUTF8(tp.Adset)
	row[9] = validUTF8(tp.Ad)
	row[10] = validUTF8(tp.SiteID)
	row[11] = validUTF8(tp.Channel)
	row[12] = validUTF8(tp.ClickID)
	row[13] = tp.Time
	row[14] = tp.ReceivedAt
	row[15] = validUTF8(tp.IP)
	row[16] = validUTF8(tp.UserAgent)
	row[17] = validUTF8(tp.IDFA)
	row[18] = validUTF8(tp.GAID)
	row[19] = validUTF8(tp.AndroidID)
	row[20] = validUTF8(tp.DeviceID)
	row[21] = validUTF8(tp.DeepLinkValue)
	for i, sub := range tp.Sub {
		row[22+i] = validUTF8(sub)
	}
	row[27] = validUTF8(tp.CostModel)
	row[28] = tp.CostValue
	row[29] = validUTF8(tp.CostCurrency)
}

// installColumns are the installs table's columns in table order.
var installColumns = []string{
	"partition", "offset", "app_id", "device_id", "install_event_id", "install_time",
	"attributed", "match_type", "touch_type", "touchpoint_id", "touch_time", "media_source",
	"campaign", "adset", "ad", "site_id", "channel", "click_id", "deep_link_value",
	"ctit_seconds", "is_reinstall", "is_reattribution", "rejected", "rejected_count",
	"first_install_time", "reattribution_kind", "original_media_source", "original_campaign",
	"country", "platform", "app_version", "os_version",
}

// installKinds are the types of installColumns.
var installKinds = []vectorKind{
	kindInteger, kindBigint, kindVarchar, kindVarchar, kindVarchar, kindTimestamp, // partition .. install_time
	kindBoolean, kindVarchar, kindVarchar, kindVarchar, kindTimestamp, kindVarchar, // attributed .. media_source
	kindVarchar, kindVarchar, kindVarchar, kindVarchar, kindVarchar, kindVarchar, kindVarchar, // campaign .. deep_link_value
	kindBigint, kindBoolean, kindBoolean, kindVarchar, kindInteger, kindTimestamp, // ctit_seconds .. first_install_time
	kindVarchar, kindVarchar, kindVarchar, // reattribution_kind .. original_campaign
	kindVarchar, kindVarchar, kindVarchar, kindVarchar, // country .. os_version
}

// putInstall writes v into row r of c, in the order of installColumns, with the values
// fillInstall gives.
func putInstall(c *chunk, r int, v *installRow) {
	in := v.in
	c.setInteger(0, r, in.Partition)
	c.setBigint(1, r, in.Offset)
	c.setVarchar(2, r, in.AppID)
	c.setVarchar(3, r, in.DeviceID)
	c.setVarchar(4, r, in.InstallEventID)
	c.setTimestamp(5, r, in.InstallTime)
	c.setBoolean(6, r, in.Attributed)
	c.setVarchar(7, r, in.MatchType)
	c.setVarchar(8, r, in.TouchType)
	c.setVarchar(9, r, in.TouchpointID)
	c.setNullTimestamp(10, r, in.TouchTime)
	c.setVarchar(11, r, in.MediaSource)
	c.setVarchar(12, r, in.Campaign)
	c.setVarchar(13, r, in.Adset)
	c.setVarchar(14, r, in.Ad)
	c.setVarchar(15, r, in.SiteID)
	c.setVarchar(16, r, in.Channel)
	c.setVarchar(17, r, in.ClickID)
	c.setVarchar(18, r, in.DeepLinkValue)
	c.setBigint(19, r, in.CTITSeconds)
	c.setBoolean(20, r, in.IsReinstall)
	c.setBoolean(21, r, in.IsReattribution)
	c.setVarchar(22, r, rejectedJSON(in.Rejected))
	c.setInteger(23, r, int32(len(in.Rejected)))
	c.setTimestamp(24, r, in.FirstInstallTime)
	c.setVarchar(25, r, in.ReattributionKind)
	c.setVarchar(26, r, in.OriginalMediaSource)
	c.setVarchar(27, r, in.OriginalCampaign)
	c.setVarchar(28, r, v.dims.Country)
	c.setVarchar(29, r, v.dims.Platform)
	c.setVarchar(30, r, v.dims.AppVersion)
	c.setVarchar(31, r, v.dims.OSVersion)
}

// fillInstall sets row to v's values in the order of installColumns.
func fillInstall(row []driver.Value, v *installRow) {
	in := v.in
	row[0] = in.Partition
	row[1] = in.Offset
	row[2] = validUTF8(in.AppID)
	row[3] = validUTF8(in.DeviceID)
	row[4] = validUTF8(in.InstallEventID)
	row[5] = in.InstallTime
	row[6] = in.Attributed
	row[7] = validUTF8(in.MatchType)
	row[8] = validUTF8(in.TouchType)
	row[9] = validUTF8(in.TouchpointID)
	row[10] = nullTime(in.TouchTime)
	row[11] = validUTF8(in.MediaSource)
	row[12] = validUTF8(in.Campaign)
	row[13] = validUTF8(in.Adset)
	row[14] = validUTF8(in.Ad)
	row[15] = validUTF8(in.SiteID)
	row[16] = validUTF8(in.Channel)
	row[17] = validUTF8(in.ClickID)
	row[18] = validUTF8(in.DeepLinkValue)
	row[19] = in.CTITSeconds
	row[20] = in.IsReinstall
	row[21] = in.IsReattribution
	row[22] = rejectedJSON(in.Rejected)
	row[23] = int32(len(in.Rejected))
	row[24] = in.FirstInstallTime
	row[25] = validUTF8(in.ReattributionKind)
	row[26] = validUTF8(in.OriginalMediaSource)
	row[27] = validUTF8(in.OriginalCampaign)
	row[28] = validUTF8(v.dims.Country)
	row[29] = validUTF8(v.dims.Platform)
	row[30] = validUTF8(v.dims.AppVersion)
	row[31] = validUTF8(v.dims.OSVersion)
}

// rejectedJSON is the JSON array of rej, "[]" when empty. encoding/json writes invalid
// UTF-8 in a string as U+FFFD, as validUTF8 does.
func rejectedJSON(rej []unmogrowp.Rejection) string {
	if len(rej) == 0 {
		return "[]"
	}
	b, err := json.Marshal(rej)
	if err != nil {
		// A struct of three strings always marshals.
		panic("marshal rejections: " + err.Error())
	}
	return string(b)
}

// validUTF8 returns s, with invalid UTF-8 sequences replaced by U+FFFD.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// nullTime is NULL for the zero time, else t.
func nullTime(t time.Time) driver.Value {
	if t.IsZero() {
		return nil
	}
	return t
}

// nullJSON is NULL for an empty document, else its bytes (not copied), made valid UTF-8.
func nullJSON(raw []byte) driver.Value {
	switch {
	case len(raw) == 0:
		return nil
	case utf8.Valid(raw):
		return raw
	}
	return []byte(strings.ToValidUTF8(string(raw), "\uFFFD"))
}
