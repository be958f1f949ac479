package redis

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
	"unsafe"

	"github.com/unmogrowp/unmogrowp"
)

// The values stored in Redis. Both are compact binary, never JSON:
//
// A touchpoint's value is its partition and offset as varints, then its log record
// (unmogrowp.EncodeTouchpointRecord, which leaves them out).
//
// An install's value starts with a 12-byte header that the device script compares
// byte-wise: the partition as a big-endian uint32, then the offset as a big-endian uint64
// with its sign bit flipped, so that byte order is numeric order (negative offsets
// included). The body follows: a version byte, a flags byte, the strings as uvarint length
// and bytes, the times as varint microseconds since the Unix epoch (0: absent),
// ctit_seconds as a varint, and the rejected touchpoints. Version 2 added three strings
// after the others (reattribution_kind, the original media source and campaign of a
// re-engagement); a version 1 value decodes with them empty.

// errCorrupt is returned for a stored value that does not decode.
var errCorrupt = errors.New("corrupt value")

// appendTouchpoint appends the value of tp to b.
func appendTouchpoint(b []byte, tp *unmogrowp.Touchpoint) []byte {
	b = binary.AppendVarint(b, int64(tp.Partition))
	b = binary.AppendVarint(b, tp.Offset)
	return unmogrowp.EncodeTouchpointRecord(b, tp)
}

// decodeTouchpoint decodes a value made by appendTouchpoint into tp, every field of which it
// sets. It returns an error for anything else and never panics.
func decodeTouchpoint(b []byte, tp *unmogrowp.Touchpoint) error {
	partition, k := binary.Varint(b)
	if k <= 0 || partition < math.MinInt32 || partition > math.MaxInt32 {
		return errCorrupt
	}
	b = b[k:]
	offset, k := binary.Varint(b)
	if k <= 0 {
		return errCorrupt
	}
	if err := unmogrowp.DecodeTouchpointRecord(b[k:], tp); err != nil {
		return err
	}
	tp.Partition, tp.Offset = int32(partition), offset
	return nil
}

const (
	installHeaderLen = 12
	installVersion   = 2
)

// Install flags.
const (
	flagAttributed = 1 << iota
	flagReinstall
	flagReattribution
)

// installStrings lists in's string fields in their order in the value of the version, in
// an array (no allocation) of which the first n are the version's.
// Changing it changes the encoding: bump installVersion when you do.
func installStrings(in *unmogrowp.Install, version byte) (s [17]*string, n int) {
	s = [17]*string{
		&in.AppID, &in.DeviceID, &in.InstallEventID, &in.MatchType, &in.TouchType,
		&in.TouchpointID, &in.MediaSource, &in.Campaign, &in.Adset, &in.Ad, &in.SiteID,
		&in.Channel, &in.ClickID, &in.DeepLinkValue,
		&in.ReattributionKind, &in.OriginalMediaSource, &in.OriginalCampaign,
	}
	if version >= 2 {
		return s, 17
	}
	return s, 14
}

// appendInstall appends the value of in to b.
func appendInstall(b []byte, in *unmogrowp.Install) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(in.Partition))
	b = binary.BigEndian.AppendUint64(b, uint64(in.Offset)^(1<<63))
	var flags byte
	for _, f := range []struct {
		set  bool
		flag byte
	}{{in.Attributed, flagAttributed}, {in.IsReinstall, flagReinstall}, {in.IsReattribution, flagReattribution}} {
		if f.set {
			flags |= f.flag
		}
	}
	b = append(b, installVersion, flags)
	fields, n := installStrings(in, installVersion)
	for _, s := range fields[:n] {
		b = appendString(b, *s)
	}
	for _, t := range []time.Time{in.InstallTime, in.TouchTime, in.FirstInstallTime} {
		b = appendTime(b, t)
	}
	b = binary.AppendVarint(b, in.CTITSeconds)
	b = binary.AppendUvarint(b, uint64(len(in.Rejected)))
	for _, rj := range in.Rejected {
		b = appendString(b, rj.TouchpointID)
		b = appendString(b, rj.MediaSource)
		b = appendString(b, rj.Reason)
	}
	return b
}

// decodeInstall decodes a value made by appendInstall (of this version or an older one)
// into in, every field of which it sets but Activity (Rejected is nil when empty). It
// returns an error for anything else and never panics. Its strings are substrings of v,
// not copies: one value read from Redis is one allocation, however many fields it has.
func decodeInstall(v string, in *unmogrowp.Install) error {
	b := unsafe.Slice(unsafe.StringData(v), len(v)) // read only: v's bytes
	if len(b) < installHeaderLen+2 || b[installHeaderLen] < 1 || b[installHeaderLen] > installVersion {
		return errCorrupt
	}
	version := b[installHeaderLen]
	in.ReattributionKind, in.OriginalMediaSource, in.OriginalCampaign = "", "", ""
	in.Partition = int32(binary.BigEndian.Uint32(b))
	in.Offset = int64(binary.BigEndian.Uint64(b[4:]) ^ (1 << 63))
	flags := b[installHeaderLen+1]
	in.Attributed = flags&flagAttributed != 0
	in.IsReinstall = flags&flagReinstall != 0
	in.IsReattribution = flags&flagReattribution != 0
	r := reader{b: b[installHeaderLen+2:]}
	fields, n := installStrings(in, version)
	for _, s := range fields[:n] {
		*s = r.string()
	}
	for _, t := range []*time.Time{&in.InstallTime, &in.TouchTime, &in.FirstInstallTime} {
		*t = r.time()
	}
	in.CTITSeconds = r.varint()
	in.Rejected = nil
	if n := r.uvarint(); n > 0 {
		if n > uint64(len(r.b))/3 { // each takes at least 3 bytes
			return errCorrupt
		}
		in.Rejected = make([]unmogrowp.Rejection, n)
		for i := range in.Rejected {
			rj := &in.Rejected[i]
			rj.TouchpointID, rj.MediaSource, rj.Reason = r.string(), r.string(), r.string()
		}
	}
	if r.err == nil && len(r.b) != 0 {
		return errCorrupt
	}
	return r.err
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.AppendVarint(b, 0)
	}
	return binary.AppendVarint(b, t.UnixMicro())
}

// reader reads the fields of a value; the first error sticks and later reads return zero
// values. b must not change while the strings it returns, which alias b, are in use.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() { r.err, r.b = errCorrupt, nil }

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[k:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, k := binary.Varint(r.b)
	if k <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[k:]
	return v
}

func (r *reader) string() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)) {
		r.fail()
		return ""
	}
	if n == 0 {
		return ""
	}
	s := unsafe.String(&r.b[0], n)
	r.b = r.b[n:]
	return s
}

func (r *reader) time() time.Time {
	v := r.varint()
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}
