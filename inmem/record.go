package inmem

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"time"
)

// The private encoding of the values inside records. A string is a uvarint header, whose
// low 3 bits say how it is packed and whose other bits are an id or a length, followed by
// its bytes:
//
//	strDict    dictionary id
//	strInline  length, then the bytes
//	strHex*    n, then n bytes: an even-length hex string of one case (2n characters)
//	strUUID*   16 bytes: a UUID of one case, 8-4-4-4-12 hex digits
//	strIP      n, then n bytes: an IP address in canonical text form (netip's binary form)
//	strBase64  n, then ⌈6n/8⌉ bytes: n characters of the URL-safe base64 alphabet
//	           (A-Z a-z 0-9 - _), 6 bits each, as network click ids and tokens are
//
// Every packing gives back exactly the string it was given. A time is a uvarint: bit 0
// clear, the microseconds from a reference time zigzag-encoded above bit 1, and bit 1 set
// when a uvarint of the sub-microsecond nanoseconds follows; or bit 0 set, then the Unix
// seconds as a varint and the nanoseconds as a uvarint, for the rare time too far from its
// reference for a Duration.
const (
	strDict = iota
	strInline
	strHexLower
	strHexUpper
	strUUIDLower
	strUUIDUpper
	strIP
	strBase64
)

// packing is how a string field may be stored, besides inline.
type packing uint8

const (
	packIntern packing = 1 << iota // in the dictionary, when it repeats
	packBytes                      // as bytes, when it is hex, a UUID or base64 characters
	packIP                         // as bytes, when it is an IP address in canonical form
)

const (
	minHexLen, maxHexLen = 8, 256
	minBase64Len         = 8
)

var errCorrupt = errors.New("inmem: corrupt record")

// writer appends the values of a record. It belongs to the writer (Apply).
type writer struct {
	b    []byte
	dict *dict // where to intern; nil: never
	seen *probation
}

func (w *writer) uvarint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *writer) varint(v int64)   { w.b = binary.AppendVarint(w.b, v) }

// str appends s, packed as p allows.
func (w *writer) str(s string, p packing) {
	if p&packIntern != 0 && w.dict != nil {
		if id, ok := w.dict.intern(s, w.seen); ok {
			w.uvarint(uint64(id)<<3 | strDict) //lint:ignore SA4016 strDict is tag 0; or-ing it names the tag the reader checks
			return
		}
	}
	if p&packIP != 0 {
		if a, err := netip.ParseAddr(s); err == nil {
			var buf [64]byte
			if string(a.AppendTo(buf[:0])) == s { // in canonical form
				v, _ := a.MarshalBinary() // 4 bytes, or 16 and any zone
				w.uvarint(uint64(len(v))<<3 | strIP)
				w.b = append(w.b, v...)
				return
			}
		}
	}
	if p&packBytes != 0 && (w.hex(s) || w.base64(s)) {
		return
	}
	w.uvarint(uint64(len(s))<<3 | strInline)
	w.b = append(w.b, s...)
}

// hex appends s packed as bytes when it is a UUID or a hex string of one case.
func (w *writer) hex(s string) bool {
	if len(s) == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-' {
		c, ok := hexCase(s, true)
		if !ok {
			return false
		}
		w.uvarint(uint64(strUUIDLower + c))
		w.b = appendUnhex(w.b, s, true)
		return true
	}
	if len(s) < minHexLen || len(s) > maxHexLen || len(s)%2 != 0 {
		return false
	}
	c, ok := hexCase(s, false)
	if !ok {
		return false
	}
	w.uvarint(uint64(len(s)/2)<<3 | uint64(strHexLower+c))
	w.b = appendUnhex(w.b, s, false)
	return true
}

// base64 appends s packed 6 bits a character when it is all of the URL-safe base64
// alphabet.
func (w *writer) base64(s string) bool {
	if len(s) < minBase64Len {
		return false
	}
	for i := 0; i < len(s); i++ {
		if b64Value[s[i]] < 0 {
			return false
		}
	}
	w.uvarint(uint64(len(s))<<3 | strBase64)
	var acc uint32
	bits := 0
	for i := 0; i < len(s); i++ {
		acc = acc<<6 | uint32(b64Value[s[i]])
		if bits += 6; bits >= 8 {
			bits -= 8
			w.b = append(w.b, byte(acc>>bits))
		}
	}
	if bits > 0 {
		w.b = append(w.b, byte(acc<<(8-bits)))
	}
	return true
}

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// b64Value is the 6-bit value of each character of b64Alphabet, -1 for any other byte.
var b64Value = func() (v [256]int8) {
	for i := range v {
		v[i] = -1
	}
	for i := range len(b64Alphabet) {
		v[b64Alphabet[i]] = int8(i)
	}
	return v
}()

// isDash reports whether i is where a UUID has a dash.
func isDash(i int) bool { return i == 8 || i == 13 || i == 18 || i == 23 }

// hexInfo classifies bytes for hexCase and appendUnhex: the low 4 bits are a hex digit's
// value.
var hexInfo = func() (t [256]uint8) {
	for i := range t {
		t[i] = hexNot
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = uint8(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = uint8(c-'a'+10) | hexLowerLetter
		t[c-'a'+'A'] = uint8(c-'a'+10) | hexUpperLetter
	}
	return t
}()

const (
	hexLowerLetter = 1 << 4
	hexUpperLetter = 1 << 5
	hexNot         = 1 << 6
)

// hexCase reports whether s is all hex digits of one case (the dashes of a UUID aside when
// uuid), and which: 0 lower (or digits only), 1 upper.
func hexCase(s string, uuid bool) (int, bool) {
	var seen uint8
	for i := 0; i < len(s); i++ {
		if uuid && isDash(i) {
			continue
		}
		seen |= hexInfo[s[i]]
	}
	switch {
	case seen&hexNot != 0, seen&(hexLowerLetter|hexUpperLetter) == hexLowerLetter|hexUpperLetter:
		return 0, false
	case seen&hexUpperLetter != 0:
		return 1, true
	}
	return 0, true
}

// appendUnhex appends the bytes that the hex digits of s spell (skipping a UUID's dashes
// when uuid); s has been checked by hexCase.
func appendUnhex(b []byte, s string, uuid bool) []byte {
	if !uuid {
		for i := 0; i+1 < len(s); i += 2 {
			b = append(b, hexInfo[s[i]]<<4|hexInfo[s[i+1]]&15)
		}
		return b
	}
	for _, seg := range [...][2]int{{0, 8}, {9, 13}, {14, 18}, {19, 23}, {24, 36}} {
		for i := seg[0]; i < seg[1]; i += 2 {
			b = append(b, hexInfo[s[i]]<<4|hexInfo[s[i+1]]&15)
		}
	}
	return b
}

// time appends t relative to ref.
func (w *writer) time(t, ref time.Time) {
	d := t.Sub(ref)
	if d == minDuration || d == maxDuration || !ref.Add(d).Equal(t) {
		w.uvarint(1)
		w.varint(t.Unix())
		w.uvarint(uint64(t.Nanosecond()))
		return
	}
	us, ns := d/time.Microsecond, d%time.Microsecond
	if ns < 0 {
		us, ns = us-1, ns+time.Microsecond
	}
	x := zigzag(int64(us)) << 2
	if ns != 0 {
		w.uvarint(x | 2)
		w.uvarint(uint64(ns))
		return
	}
	w.uvarint(x)
}

const (
	minDuration = time.Duration(-1 << 63)
	maxDuration = time.Duration(1<<63 - 1)
)

func zigzag(v int64) uint64   { return uint64(v<<1) ^ uint64(v>>63) }
func unzigzag(v uint64) int64 { return int64(v>>1) ^ -int64(v&1) }

// reader reads the values of a record. The first error sticks: later reads return zero
// values.
type reader struct {
	b    []byte
	dict *dict
	err  error
	buf  [maxHexLen]byte // room to spell out a packed string
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errCorrupt
	}
	r.b = nil
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes(n uint64) []byte {
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// strBytes reads a string as bytes that alias the record or r.buf, or as an interned
// string: exactly one of the two results is set (both empty for "").
func (r *reader) strBytes() ([]byte, string) {
	x := r.uvarint()
	switch x & 7 {
	case strDict:
		if r.dict == nil || x>>3 > uint64(^uint32(0)) {
			r.fail()
			return nil, ""
		}
		return nil, r.dict.get(uint32(x >> 3))
	case strInline:
		return r.bytes(x >> 3), ""
	case strHexLower, strHexUpper:
		n := x >> 3
		if n*2 > uint64(len(r.buf)) { // the writer never packs that long a string
			r.fail()
			return nil, ""
		}
		v := r.bytes(n)
		out := r.buf[:2*len(v)]
		hexEncode(out, v, x&7 == strHexUpper)
		return out, ""
	case strUUIDLower, strUUIDUpper:
		v := r.bytes(16)
		if v == nil {
			return nil, ""
		}
		out := r.buf[:36]
		upper := x&7 == strUUIDUpper
		hexEncode(out[0:8], v[0:4], upper)
		out[8] = '-'
		hexEncode(out[9:13], v[4:6], upper)
		out[13] = '-'
		hexEncode(out[14:18], v[6:8], upper)
		out[18] = '-'
		hexEncode(out[19:23], v[8:10], upper)
		out[23] = '-'
		hexEncode(out[24:36], v[10:16], upper)
		return out, ""
	case strIP:
		var a netip.Addr
		if err := a.UnmarshalBinary(r.bytes(x >> 3)); err != nil || !a.IsValid() {
			r.fail()
			return nil, ""
		}
		return a.AppendTo(r.buf[:0]), ""
	default: // strBase64
		n := x >> 3
		if n > uint64(len(r.buf)) {
			return r.base64(n, make([]byte, n)), ""
		}
		return r.base64(n, r.buf[:n]), ""
	}
}

// base64 reads n characters packed by writer.base64 into out, of length n.
func (r *reader) base64(n uint64, out []byte) []byte {
	v := r.bytes((6*n + 7) / 8)
	if v == nil && n > 0 {
		return nil
	}
	var acc uint32
	bits, j := 0, 0
	for i := range out {
		for bits < 6 {
			acc = acc<<8 | uint32(v[j])
			j++
			bits += 8
		}
		bits -= 6
		out[i] = b64Alphabet[acc>>bits&63]
	}
	return out
}

// str reads a string as a new string (an interned one is shared: strings are immutable).
func (r *reader) str() string {
	b, s := r.strBytes()
	if b != nil {
		return string(b)
	}
	return s
}

// strEq reads a string and reports whether it equals s, without allocating.
func (r *reader) strEq(s string) bool {
	b, v := r.strBytes()
	if b != nil {
		return string(b) == s
	}
	return v == s && r.err == nil
}

// skipStr reads past a string.
func (r *reader) skipStr() {
	x := r.uvarint()
	switch x & 7 {
	case strDict:
	case strInline, strHexLower, strHexUpper:
		r.bytes(x >> 3)
	case strUUIDLower, strUUIDUpper:
		r.bytes(16)
	case strIP:
		r.bytes(x >> 3)
	case strBase64:
		r.bytes((6*(x>>3) + 7) / 8)
	}
}

// time reads a time written relative to ref; it is UTC.
func (r *reader) time(ref time.Time) time.Time {
	x := r.uvarint()
	if x&1 != 0 {
		sec := r.varint()
		ns := r.uvarint()
		if ns >= 1e9 {
			r.fail()
		}
		return time.Unix(sec, int64(ns)).UTC()
	}
	d := time.Duration(unzigzag(x>>2)) * time.Microsecond
	if x&2 != 0 {
		d += time.Duration(r.uvarint())
	}
	return ref.Add(d).UTC()
}

func hexEncode(dst, src []byte, upper bool) {
	const lower, upperDigits = "0123456789abcdef", "0123456789ABCDEF"
	digits := lower
	if upper {
		digits = upperDigits
	}
	for i, c := range src {
		dst[2*i] = digits[c>>4]
		dst[2*i+1] = digits[c&15]
	}
}
