package inmem

import (
	"bytes"
	"encoding/binary"
	"sync"

	"github.com/zeebo/xxh3"

	"github.com/unmogrowp/unmogrowp"
)

// Device states: the latest install decision of each (app, device), in shards, each with
// its own lock, table and arena. A shard maps the 64-bit hash of app id and device id (its
// top 6 bits choose the shard, its low 32 bits are the tag) to the position of the
// device's record: a uvarint length, then the body (encodeInstall). A
// newer decision is appended and the old record becomes garbage, which the shard reclaims
// by copying its live records to a new arena once garbage outweighs them (compaction locks
// one shard, 1/64 of the devices).
//
// Every record names its app and device, so a lookup checks them: a device whose tag is
// taken by another device of its shard (about n²/2^39 devices among n, some 180 in ten
// million) is kept in the shard's overflow map under its full key instead.

const (
	deviceShards    = 64
	minCompactBytes = 4 << 10
)

type deviceShard struct {
	mu       sync.RWMutex
	pos      table             // the low 32 bits of the device's hash → its record
	overflow map[string]uint32 // app id + "\x00" + device id → record, for tag collisions
	arena    arena
	garbage  int64 // bytes of records no longer referred to
}

// devices is the device side of a State. The writer (Apply) encodes with w and seen;
// readers lock one shard for reading.
type devices struct {
	shards [deviceShards]deviceShard
	dict   dict
	seen   probation
	w      writer
}

func deviceHash(appID, deviceID string) uint64 {
	return xxh3.HashStringSeed(deviceID, appSeed(appID))
}

func (d *devices) shard(h uint64) *deviceShard { return &d.shards[h>>58] }

// record returns the record at pos (length prefix included) and its body.
func (sh *deviceShard) record(pos uint32) (rec, body []byte) {
	b := sh.arena.at(pos)
	n, k := binary.Uvarint(b)
	return b[:k+int(n)], b[k : k+int(n)]
}

// put makes in the latest decision of its device, unless the device's current one is
// later in the same partition of the log (a replay of an older batch) or encodes the same.
// The device's activity is kept, raised by in's (Activity.Merge). It returns false when
// the shard's arena is full.
func (d *devices) put(in *unmogrowp.Install) bool {
	var cur unmogrowp.Install
	return d.update(in.AppID, in.DeviceID, &cur, func(found bool) bool {
		if !found {
			cur = *in
			return true
		}
		if cur.Partition == in.Partition && in.Offset < cur.Offset {
			return false
		}
		act := cur.Activity
		act.Merge(in.Activity)
		cur = *in
		cur.Activity = act
		return true
	})
}

// raise raises the activity of a's device, when it has a decision. It returns false when
// the shard's arena is full.
func (d *devices) raise(a *unmogrowp.DeviceActivity) bool {
	if d.raiseInPlace(a) {
		return true
	}
	var cur unmogrowp.Install
	return d.update(a.AppID, a.DeviceID, &cur, func(found bool) bool {
		return found && cur.Activity.Merge(a.Activity)
	})
}

// raiseInPlace raises the last event time of a's device in its record itself, when that
// time is all that changes (a's ids are the record's, or empty) and its new encoding takes
// as many bytes as the old one: the common case of a device active again, which then
// costs no decoding, no new record and no garbage to compact. It reports whether the
// record is now raised (or needed nothing); false leaves the work to update. Readers see
// the change under the shard's lock, as any write.
func (d *devices) raiseInPlace(a *unmogrowp.DeviceActivity) bool {
	h := deviceHash(a.AppID, a.DeviceID)
	sh := d.shard(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	pos, _, ok := sh.find(h, a.AppID, a.DeviceID, &d.dict)
	if !ok {
		return false
	}
	_, body := sh.record(pos)
	r := reader{b: body, dict: &d.dict}
	same, ref, last := installLastEvent(&r, a.IDFA, a.GAID, a.AndroidID)
	if r.err != nil || !same || last == nil {
		return false
	}
	lr := reader{b: last}
	if old := lr.time(ref); lr.err != nil || len(lr.b) != 0 {
		return false
	} else if !a.LastEventTime.After(old) {
		return true
	}
	w := writer{b: d.w.b[:0]} // the writer's buffer: only the writer raises
	w.time(a.LastEventTime, ref)
	d.w.b = w.b
	if len(w.b) != len(last) {
		return false
	}
	copy(last, w.b)
	return true
}

// find returns the position of the record of (appID, deviceID), whose hash is h, and
// whether there is one; okey is the device's key in the overflow map when another device
// of the shard has its tag ("" otherwise). The caller holds sh.mu.
func (sh *deviceShard) find(h uint64, appID, deviceID string, dict *dict) (pos uint32, okey string, ok bool) {
	pos, ok = sh.pos.get(uint32(h))
	if !ok {
		return 0, "", false
	}
	_, body := sh.record(pos)
	if same, _, _ := installIs(&reader{b: body, dict: dict}, appID, deviceID); same {
		return pos, "", true
	}
	okey = appID + "\x00" + deviceID
	pos, ok = sh.overflow[okey]
	return pos, okey, ok
}

// update decodes the decision of (appID, deviceID) into cur (found false when there is
// none), lets change make the new one there, and replaces the record with it: nothing
// when change says false or the new record encodes the same. cur is the caller's, shared
// with change, so that it stays on the caller's stack (a pointer handed through a
// function value goes to the heap). It returns false when the shard's arena is full.
// Only the writer calls it (Apply and Seen are serialised).
func (d *devices) update(appID, deviceID string, cur *unmogrowp.Install, change func(found bool) bool) bool {
	h := deviceHash(appID, deviceID)
	sh := d.shard(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	pos, okey, ok := sh.find(h, appID, deviceID, &d.dict)
	var old []byte
	if ok {
		var body []byte
		old, body = sh.record(pos)
		r := reader{b: body, dict: &d.dict}
		decodeInstall(&r, cur, true)
		ok = r.err == nil
	}
	if !change(ok) {
		return true
	}
	d.w = writer{b: d.w.b[:0], dict: &d.dict, seen: &d.seen}
	d.w.b = append(d.w.b, make([]byte, binary.MaxVarintLen32)...)
	encodeInstall(&d.w, cur)
	// Put the length right before the body.
	n := len(d.w.b) - binary.MaxVarintLen32
	var lenBuf [binary.MaxVarintLen32]byte
	k := binary.PutUvarint(lenBuf[:], uint64(n))
	start := binary.MaxVarintLen32 - k
	copy(d.w.b[start:], lenBuf[:k])
	rec := d.w.b[start:]
	if old != nil && ok {
		if bytes.Equal(old, rec) {
			return true
		}
		sh.garbage += int64(len(old))
	}
	pos, added := sh.arena.add(rec)
	if !added {
		return false
	}
	if okey != "" {
		if sh.overflow == nil {
			sh.overflow = make(map[string]uint32)
		}
		sh.overflow[okey] = pos
	} else {
		if !sh.pos.fits(1) {
			sh.pos = sh.pos.grown(1)
		}
		sh.pos.put(uint32(h), pos)
	}
	if sh.garbage > minCompactBytes && 2*sh.garbage > sh.arena.used {
		sh.compact()
	}
	return true
}

// compact copies the live records to a new arena. The caller holds sh.mu.
func (sh *deviceShard) compact() {
	var a arena
	move := func(pos uint32) uint32 {
		rec, _ := sh.record(pos)
		p, _ := a.add(rec) // the live records fit where they and the garbage did
		return p
	}
	sh.pos.remap(move)
	for k, pos := range sh.overflow {
		sh.overflow[k] = move(pos)
	}
	sh.arena, sh.garbage = a, 0
}

// get returns the latest decision of (appID, deviceID), with its rejected touchpoints if
// rejected (else Rejected is nil). It returns errCorrupt only on a bug.
func (d *devices) get(appID, deviceID string, rejected bool) (unmogrowp.Install, bool, error) {
	h := deviceHash(appID, deviceID)
	sh := d.shard(h)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	pos, ok := sh.pos.get(uint32(h))
	if !ok {
		return unmogrowp.Install{}, false, nil
	}
	var in unmogrowp.Install
	_, body := sh.record(pos)
	r := reader{b: body, dict: &d.dict}
	decodeInstall(&r, &in, rejected)
	if r.err != nil {
		return unmogrowp.Install{}, false, r.err
	}
	if in.AppID == appID && in.DeviceID == deviceID {
		return in, true, nil
	}
	if pos, ok = sh.overflow[appID+"\x00"+deviceID]; !ok {
		return unmogrowp.Install{}, false, nil
	}
	_, body = sh.record(pos)
	r = reader{b: body, dict: &d.dict}
	decodeInstall(&r, &in, rejected)
	return in, r.err == nil, r.err
}

// stats returns how many devices there are and the bytes their arenas reserve.
func (d *devices) stats() (count int, bytes int64) {
	for i := range d.shards {
		sh := &d.shards[i]
		sh.mu.RLock()
		count += sh.pos.n + len(sh.overflow)
		bytes += sh.arena.reserved
		sh.mu.RUnlock()
	}
	return count, bytes
}

// reset drops every device.
func (d *devices) reset() {
	for i := range d.shards {
		sh := &d.shards[i]
		sh.mu.Lock()
		sh.pos, sh.overflow, sh.arena, sh.garbage = table{}, nil, arena{}, 0
		sh.mu.Unlock()
	}
}
