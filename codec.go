package unmogrowp

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// Record kinds: the first byte of every log record's value.
const (
	RecordEvent byte = 1 // an Event, encoded by EncodeEventRecord
)

// ErrCorruptRecord is returned for a record value that does not decode.
var ErrCorruptRecord = errors.New("corrupt record")

// EncodeEventRecord appends the log record of e to b and returns the extended slice. The
// encoding is compact and versioned by its first byte: strings as length-prefixed bytes,
// times as varint microseconds since the Unix epoch (0: absent). Partition and Offset are
// not part of it: they are where the record sits, not what it says.
//
// ThirdPartySharing, added later, is one byte after the rest (consentFalse or
// consentTrue), and nothing when it is nil: so a record without it is byte for byte what
// the encoding was before, and every record written before decodes as it did.
func EncodeEventRecord(b []byte, e *Event) []byte {
	b = append(b, RecordEvent)
	b = appendStrings(b, e.stringFields())
	b = appendTime(b, e.Timestamp)
	b = appendTime(b, e.ReceivedAt)
	b = appendTime(b, e.InstallBeginAt)
	if e.HasRevenue {
		b = append(b, 1)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.Revenue))
	} else {
		b = append(b, 0)
	}
	for _, raw := range []*[]byte{(*[]byte)(&e.Attribution), (*[]byte)(&e.EventData)} {
		b = binary.AppendUvarint(b, uint64(len(*raw)))
		b = append(b, *raw...)
	}
	return appendConsent(b, e.ThirdPartySharing)
}

// appendConsent appends the byte of a record's ThirdPartySharing, nothing when it is nil.
func appendConsent(b []byte, sharing *bool) []byte {
	if sharing == nil {
		return b
	}
	if *sharing {
		return append(b, consentTrue)
	}
	return append(b, consentFalse)
}

// The byte that ends an event record whose ThirdPartySharing is set.
const (
	consentFalse byte = 1
	consentTrue  byte = 2
)

// DecodeEventRecord decodes a record made by EncodeEventRecord into e. It returns an error
// wrapping ErrCorruptRecord for anything else, and never panics. Strings and raw JSON in e
// are copies: they do not alias b.
func DecodeEventRecord(b []byte, e *Event) error {
	d := decoder{b: b}
	if kind := d.byte(); kind != RecordEvent {
		return errors.Join(ErrCorruptRecord, errors.New("not an event record"))
	}
	d.strings(e.stringFields())
	e.Timestamp = d.time()
	e.ReceivedAt = d.time()
	e.InstallBeginAt = d.time()
	switch d.byte() {
	case 0:
		e.HasRevenue, e.Revenue = false, 0
	case 1:
		e.HasRevenue = true
		e.Revenue = math.Float64frombits(d.uint64())
		if math.IsNaN(e.Revenue) || math.IsInf(e.Revenue, 0) { // ingestion never writes these
			d.fail()
		}
	default:
		d.err = ErrCorruptRecord
	}
	for _, raw := range []*[]byte{(*[]byte)(&e.Attribution), (*[]byte)(&e.EventData)} {
		if v := d.bytes(); len(v) > 0 {
			*raw = append([]byte(nil), v...)
		} else {
			*raw = nil
		}
	}
	e.ThirdPartySharing = d.consent()
	return d.finish()
}

// consent reads the optional last byte that appendConsent writes: nil when the record
// ends before it.
func (d *decoder) consent() *bool {
	if d.err != nil || len(d.b) == 0 {
		return nil
	}
	switch c := d.byte(); c {
	case consentFalse, consentTrue:
		v := c == consentTrue
		return &v
	default:
		d.fail()
		return nil
	}
}

// stringFields lists e's string fields in their order in the encoding. Appending a field
// here changes the encoding: bump the record kind when you do.
func (e *Event) stringFields() []*string {
	return []*string{
		&e.EventID, &e.AppID, &e.EventType, &e.DeviceID, &e.UserID, &e.SessionID,
		&e.Platform, &e.OSVersion, &e.AppVersion, &e.DeviceModel, &e.Country, &e.Language,
		&e.IDFA, &e.GAID, &e.IDFV, &e.AndroidID, &e.ATTStatus, &e.InstallReferrer,
		&e.Currency, &e.IP, &e.UserAgent, &e.MediaSource, &e.Campaign,
	}
}

// appendStrings appends each string as its uvarint length and its bytes.
func appendStrings(b []byte, fields []*string) []byte {
	for _, s := range fields {
		b = binary.AppendUvarint(b, uint64(len(*s)))
		b = append(b, *s...)
	}
	return b
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.AppendVarint(b, 0)
	}
	return binary.AppendVarint(b, t.UnixMicro())
}

// decoder reads the fields of a record; the first error sticks and later reads return
// zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() { d.err, d.b = ErrCorruptRecord, nil }

// strings reads the fields written by appendStrings, as copies: all of them in one
// allocation (the record's string bytes, length prefixes included), which a field keeps
// alive as long as it lives. Whoever keeps a field of a record for long clones it.
func (d *decoder) strings(fields []*string) {
	start := d.b
	var spans [32][2]int // each field's bytes in start; records have 23 string fields at most
	for i := range fields {
		v := d.bytes()
		off := len(start) - len(d.b) - len(v)
		spans[i] = [2]int{off, off + len(v)}
	}
	if d.err != nil {
		for _, s := range fields {
			*s = ""
		}
		return
	}
	block := string(start[:len(start)-len(d.b)])
	for i, s := range fields {
		if sp := spans[i]; sp[1] > sp[0] {
			*s = block[sp[0]:sp[1]]
		} else {
			*s = ""
		}
	}
}

// finish returns the first error, or one for bytes left over after the last field.
func (d *decoder) finish() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = errors.Join(ErrCorruptRecord, errors.New("trailing bytes"))
	}
	return d.err
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) < 1 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uint64() uint64 {
	if d.err != nil || len(d.b) < 8 {
		d.fail()
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) bytes() []byte {
	if d.err != nil {
		return nil
	}
	n, k := binary.Uvarint(d.b)
	if k <= 0 || n > uint64(len(d.b)-k) {
		d.fail()
		return nil
	}
	v := d.b[k : k+int(n)]
	d.b = d.b[k+int(n):]
	return v
}

func (d *decoder) time() time.Time {
	if d.err != nil {
		return time.Time{}
	}
	v, k := binary.Varint(d.b)
	if k <= 0 {
		d.fail()
		return time.Time{}
	}
	d.b = d.b[k:]
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}
