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
// values its fill function gives the appender. checkColumns compares each list with the
// table on open.

// table is a table the store appends to, and its columns in table order.
type table struct {
	name    string
	columns []string
}

// The tables the store appends to.
var (
	eventsTable      = table{"events", eventColumns}
	touchpointsTable = table{"touchpoints", touchpointColumns}
	installsTable    = table{"installs", installColumns}
	tables           = []table{eventsTable, touchpointsTable, installsTable}
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
	"sub1", "sub2", "sub3", "sub4", "sub5",
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
}

// installColumns are the installs table's columns in table order.
var installColumns = []string{
	"partition", "offset", "app_id", "device_id", "install_event_id", "install_time",
	"attributed", "match_type", "touch_type", "touchpoint_id", "touch_time", "media_source",
	"campaign", "adset", "ad", "site_id", "channel", "click_id", "deep_link_value",
	"ctit_seconds", "is_reinstall", "is_reattribution", "rejected", "rejected_count",
	"first_install_time",
}

// fillInstall sets row to in's values in the order of installColumns.
func fillInstall(row []driver.Value, in *unmogrowp.Install) {
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
