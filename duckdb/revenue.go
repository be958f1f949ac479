package duckdb

import (
	"database/sql/driver"

	"github.com/unmogrowp/unmogrowp"
)

// Revenue by device. The LTV report sums what its cohorts' devices paid over their first
// days (up to 90 after the install), and on 100M events the join of the cohorts' installs
// with the app's events of those 120 days, by device id, was most of its time: the events
// with revenue are a few in a hundred, yet the scan read every event of the app and range.
// So Append also keeps device_revenue (0011_device_hours_revenue.sql): a row for each stored
// event with a revenue (events.revenue not NULL), with the event's app, time, device as
// deviceKey, currency and revenue as stored, and (0012_revenue_dimensions.sql) its type and
// breakdown dimensions as stored. ltv.sql and a breakdown's revenue (breakdown.go) read it
// instead of the events. The device as its key may join two devices whose keys collide, as
// device_days may count them as one (deviceKey says how rarely).

// deviceRevenueTable is the device_revenue table.
var deviceRevenueTable = table{"device_revenue", []string{"app_id", "event_time", "device_key", "currency", "revenue",
	"event_type", "media_source", "campaign", "country", "platform", "app_version", "os_version"},
	[]vectorKind{kindVarchar, kindTimestamp, kindBigint, kindVarchar, kindDouble,
		kindVarchar, kindVarchar, kindVarchar, kindVarchar, kindVarchar, kindVarchar, kindVarchar}}

// revenueRow is one row of device_revenue: an event with a revenue, and its device's key.
type revenueRow struct {
	e   *unmogrowp.Event
	key int64
}

// revenueRows appends to dst the rows of device_revenue that events make.
func revenueRows(dst []revenueRow, events []unmogrowp.Event) []revenueRow {
	for i := range events {
		if e := &events[i]; e.HasRevenue {
			dst = append(dst, revenueRow{e, deviceKey(e.DeviceID)})
		}
	}
	return dst
}

func putRevenue(c *chunk, r int, v *revenueRow) {
	c.setVarchar(0, r, v.e.AppID)
	c.setTimestamp(1, r, v.e.Timestamp)
	c.setBigint(2, r, v.key)
	c.setVarchar(3, r, v.e.Currency)
	c.setDouble(4, r, v.e.Revenue)
	c.setVarchar(5, r, v.e.EventType)
	c.setVarchar(6, r, v.e.MediaSource)
	c.setVarchar(7, r, v.e.Campaign)
	c.setVarchar(8, r, v.e.Country)
	c.setVarchar(9, r, v.e.Platform)
	c.setVarchar(10, r, v.e.AppVersion)
	c.setVarchar(11, r, v.e.OSVersion)
}

func fillRevenue(row []driver.Value, v *revenueRow) {
	row[0] = validUTF8(v.e.AppID)
	row[1] = v.e.Timestamp
	row[2] = v.key
	row[3] = validUTF8(v.e.Currency)
	row[4] = v.e.Revenue
	row[5] = validUTF8(v.e.EventType)
	row[6] = validUTF8(v.e.MediaSource)
	row[7] = validUTF8(v.e.Campaign)
	row[8] = validUTF8(v.e.Country)
	row[9] = validUTF8(v.e.Platform)
	row[10] = validUTF8(v.e.AppVersion)
	row[11] = validUTF8(v.e.OSVersion)
}

func revenuePos(v *revenueRow) (int32, int64) { return v.e.Partition, v.e.Offset }
