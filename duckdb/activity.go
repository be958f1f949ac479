package duckdb

import (
	"context"
	"crypto/md5"
	"database/sql/driver"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// Active devices. Stats counts the distinct devices with an event in its range, and on
// 100M events (11.7M of them in the asked app and week, 990k devices) count(DISTINCT
// device_id) over the events alone took 1.4 s of the report's 2.3. So Append also keeps
// device_days (0003_device_days.sql): a row for each app, UTC day and device with an event
// that day, the device as deviceKey. Stats counts the whole days of its range there and
// only the partial days at its ends in events (the week's 3.5M device-days: 0.25 s), and
// the retention report reads devices' active days there.
//
// Each row also holds the UTC hours of the day in which the device sent events, as a bit
// mask (0011_device_hours_revenue.sql), from which the retention report in a zone whose offsets
// are whole hours finds the device's local days (retention.go).
//
// A device-day may be stored more than once (count(DISTINCT) does not mind, and the masks
// of its rows together are its hours): Append skips the device-hours stored by an earlier
// batch only for recent days, which it remembers (seenDays, loaded on open), not for late
// events of older days; a batch with a new hour of a device-day stores a row for it.

// deviceDaysTable is the device_days table: app, UTC day (midnight), device key, hours.
var deviceDaysTable = table{"device_days", []string{"app_id", "day", "device_key", "hours"},
	[]vectorKind{kindVarchar, kindTimestamp, kindBigint, kindInteger}}

// deviceKey is what device_days holds for a device id as stored (validUTF8): the first 8
// bytes of its MD5, little-endian, top bit cleared, which the SQL macro device_key
// computes too (0005_device_key.sql; stats.sql and retentionSQL call it, 0003 spells it
// out). That two of an app's million devices share a key, and count as
// one, has a probability of about 5 in 10^8.
func deviceKey(deviceID string) int64 {
	var buf [64]byte // device ids are short: no allocation for most
	sum := md5.Sum(append(buf[:0], validUTF8(deviceID)...))
	return int64(binary.LittleEndian.Uint64(sum[:8]) &^ (1 << 63))
}

// hourBit is the bit of t's UTC hour in a device_days mask.
func hourBit(t time.Time) int32 { return 1 << t.UTC().Hour() }

// dayOf returns the UTC day of t as DuckDB stores t (microseconds, rounded down): Unix
// days.
func dayOf(t time.Time) int64 {
	us := t.UnixMicro()
	d := us / (24 * 3600 * 1e6)
	if us%(24*3600*1e6) < 0 {
		d--
	}
	return d
}

// deviceDay is one row of device_days.
type deviceDay struct {
	app   string
	day   int64 // Unix days
	key   int64
	hours int32 // bit h: an event in UTC hour h
	// partition and offset are those of the first event of the batch that made the row,
	// for errors.
	partition int32
	offset    int64
}

func putDeviceDay(c *chunk, r int, d *deviceDay) {
	c.setVarchar(0, r, d.app)
	c.setTimestamp(1, r, time.Unix(d.day*24*3600, 0))
	c.setBigint(2, r, d.key)
	c.setInteger(3, r, d.hours)
}

func fillDeviceDay(row []driver.Value, d *deviceDay) {
	row[0] = validUTF8(d.app)
	row[1] = time.Unix(d.day*24*3600, 0).UTC()
	row[2] = d.key
	row[3] = d.hours
}

func deviceDayPos(d *deviceDay) (int32, int64) { return d.partition, d.offset }

// appDay names one app's day in seenDays.
type appDay struct {
	app string
	day int64
}

// dayKey names one device-day.
type dayKey struct {
	appDay
	key int64
}

// seenDays remembers the device keys stored in device_days for each app's recent days,
// each with the hours stored for it:
// the day before the current UTC day, the current one and the next (a device clock a
// little ahead). Older days are forgotten as the clock moves on. Both writers (the file's
// and the stage's) read and update it through take, under its mu.
type seenDays struct {
	mu    sync.Mutex
	days  map[appDay]map[int64]int32
	now   func() time.Time
	batch map[dayKey]int // newDeviceDays' own (the row's index), kept for its buckets
	// isStale: a rolled-back transaction held device-days that days took as stored, so
	// it is read again before the next take.
	isStale bool
}

// stale notes that days may hold device-days that are not stored.
func (s *seenDays) stale() {
	s.mu.Lock()
	s.isStale = true
	s.mu.Unlock()
}

// take returns in dst the device-days of events not stored yet as far as s knows
// (newDeviceDays), and takes them as stored; it reads device_days again first when a
// rollback made s stale.
func (s *seenDays) take(ctx context.Context, st *Store, dst []deviceDay, events []unmogrowp.Event) ([]deviceDay, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isStale {
		s.days = nil
		if err := st.loadSeenDays(ctx); err != nil {
			return dst, err
		}
		s.isStale = false
	}
	dst = s.newDeviceDays(dst, events)
	s.stored(dst)
	return dst, nil
}

// recent reports whether day is one seenDays keeps when the current day is today.
func recent(today, day int64) bool { return day >= today-1 && day <= today+1 }

// newDeviceDays returns the device-days of events with an hour not stored yet as far as s
// knows, each once, with the hours of the events.
func (s *seenDays) newDeviceDays(dst []deviceDay, events []unmogrowp.Event) []deviceDay {
	if s.batch == nil {
		s.batch = map[dayKey]int{}
	}
	batch := s.batch
	clear(batch)
	for i := range events {
		e := &events[i]
		dk := dayKey{appDay{e.AppID, dayOf(e.Timestamp)}, deviceKey(e.DeviceID)}
		bit := hourBit(e.Timestamp)
		if j, ok := batch[dk]; ok {
			dst[j].hours |= bit
			continue
		}
		if s.days[dk.appDay][dk.key]&bit != 0 {
			continue
		}
		batch[dk] = len(dst)
		dst = append(dst, deviceDay{app: e.AppID, day: dk.day, key: dk.key, hours: bit, partition: e.Partition, offset: e.Offset})
	}
	return dst
}

// stored notes device-days committed to device_days, keeping those of recent days and
// forgetting the days no longer recent.
func (s *seenDays) stored(rows []deviceDay) {
	if s.days == nil {
		s.days = map[appDay]map[int64]int32{}
	}
	today := dayOf(s.now())
	for ad := range s.days {
		if !recent(today, ad.day) {
			delete(s.days, ad)
		}
	}
	for _, r := range rows {
		if !recent(today, r.day) {
			continue
		}
		ad := appDay{r.app, r.day}
		keys := s.days[ad]
		if keys == nil {
			keys = map[int64]int32{}
			ad.app = strings.Clone(ad.app) // outlives the record it was decoded from
			s.days[ad] = keys
		}
		keys[r.key] |= r.hours
	}
}

// loadSeenDays fills s.seen with the recent days' rows of device_days, so that a restart
// does not store them again; at open, or under s.seen.mu.
func (s *Store) loadSeenDays(ctx context.Context) error {
	today := dayOf(s.seen.now())
	rows, err := s.db.QueryContext(ctx, `SELECT app_id, epoch(day)::BIGINT // 86400, device_key, hours FROM device_days WHERE day >= ? AND day < ?`,
		time.Unix((today-1)*24*3600, 0).UTC(), time.Unix((today+2)*24*3600, 0).UTC())
	if err != nil {
		return fmt.Errorf("read recent device days: %w", err)
	}
	defer rows.Close()
	var batch []deviceDay
	for rows.Next() {
		var d deviceDay
		if err := rows.Scan(&d.app, &d.day, &d.key, &d.hours); err != nil {
			return fmt.Errorf("read recent device days: %w", err)
		}
		if batch = append(batch, d); len(batch) == 10_000 {
			s.seen.stored(batch)
			batch = batch[:0]
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read recent device days: %w", err)
	}
	s.seen.stored(batch)
	return nil
}
