package inmem

import (
	"encoding/binary"
	"slices"
	"strconv"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// The record bodies of touchpoints and installs. Each starts with a uvarint of flags that
// say which fields are present (empty strings and zero times cost one bit), so the common
// record, with a dozen of its 23 strings empty, stays small.

// tpFields are the string fields of a touchpoint in their order in a record, the most
// often present first (so the flags fit in fewer bytes), with how each may be packed.
var tpFields = [...]struct {
	field func(*unmogrowp.Touchpoint) *string
	pack  packing
}{
	{func(tp *unmogrowp.Touchpoint) *string { return &tp.ID }, packBytes},
	{func(tp *unmogrowp.Touchpoint) *string { return &tp.AppID }, packIntern},
	{func(tp *unmogrowp.Touchpoint) *string { return &tp.Type }, packIntern},
	{func(tp *unmogrowp.Touchpoint) *string { return &tp.MediaSource }, packIntern},
	{func(tp *unmogrowp.Touchpoint) *string { return &tp.Campaign }, packIntern},
	{func(tp *unmogrowp.Touchpoint) *string { return &tp.IP }, packIP},
	{func(tp *unmogrowp.Touchpoint) *string { return &tp.UserAgent }, packIntern},
	{func(tp *unmogrowp.Touchpoint) *string { return &tp.IDFA }, packBytes},
	{func(tp *unmogrowp.Touchpoint) *string { return &tp.GAID }, packBytes},
	{func(tp *unmogrowp.Touchpoint) *string { return &tp.LinkID }, packIntern | packBytes},
	{func(tp *unmogrowp.Touchpoint) *string { return &tp.Adset }, packIntern | packBytes},
	{func(tp *unmogrowp.Touchpoint) *string { return &tp.Ad }, packIntern | packBytes},
	{func(tp *unmogrowp.Touchpoint) *string { return &tp.SiteID }, packIntern | packBytes},
	{func(tp *unmogrowp.Touchpoint) *string { return &tp.Channel }, packIntern},
	{func(tp *unmogrowp.Touchpoint) *string { return &tp.ClickID }, packBytes},
	{func(tp *unmogrowp.Touchpoint) *string { return &tp.AndroidID }, packBytes},
	{func(tp *unmogrowp.Touchpoint) *string { return &tp.DeviceID }, packBytes},
	{func(tp *unmogrowp.Touchpoint) *string { return &tp.DeepLinkValue }, packIntern | packBytes},
	{func(tp *unmogrowp.Touchpoint) *string { return &tp.Sub[0] }, packIntern | packBytes},
	{func(tp *unmogrowp.Touchpoint) *string { return &tp.Sub[1] }, packIntern | packBytes},
	{func(tp *unmogrowp.Touchpoint) *string { return &tp.Sub[2] }, packIntern | packBytes},
	{func(tp *unmogrowp.Touchpoint) *string { return &tp.Sub[3] }, packIntern | packBytes},
	{func(tp *unmogrowp.Touchpoint) *string { return &tp.Sub[4] }, packIntern | packBytes},
}

// Touchpoint flags: bit 0 ReceivedAt present, bit 1+i string field i present.
const tpReceivedAt = 1

// encodeTouchpoint appends the body of tp's record: flags, partition, offset, the touch
// time relative to ref (its generation's start), the receive time relative to the touch
// time, and the strings.
func encodeTouchpoint(w *writer, tp *unmogrowp.Touchpoint, ref time.Time) {
	var flags uint64
	if !tp.ReceivedAt.IsZero() {
		flags |= tpReceivedAt
	}
	for i, f := range tpFields {
		if *f.field(tp) != "" {
			flags |= 2 << i
		}
	}
	w.uvarint(flags)
	w.varint(int64(tp.Partition))
	w.varint(tp.Offset)
	w.time(tp.Time, ref)
	if flags&tpReceivedAt != 0 {
		w.time(tp.ReceivedAt, tp.Time)
	}
	for i, f := range tpFields {
		if flags&(2<<i) != 0 {
			w.str(*f.field(tp), f.pack)
		}
	}
}

// decodeTouchpoint reads a body written by encodeTouchpoint with the same ref into tp,
// every field of which it sets.
func decodeTouchpoint(r *reader, tp *unmogrowp.Touchpoint, ref time.Time) {
	flags := r.uvarint()
	tp.Partition = int32(r.varint())
	tp.Offset = r.varint()
	tp.Time = r.time(ref)
	tp.ReceivedAt = time.Time{}
	if flags&tpReceivedAt != 0 {
		tp.ReceivedAt = r.time(tp.Time)
	}
	for i, f := range tpFields {
		p := f.field(tp)
		*p = ""
		if flags&(2<<i) != 0 {
			*p = r.str()
		}
	}
}

// touchpointIs reports whether the body r reads is the touchpoint (appID, id), without
// allocating. ID and AppID are the first two strings.
func touchpointIs(r *reader, appID, id string) bool {
	flags := r.uvarint()
	r.varint()
	r.varint()
	r.time(time.Time{})
	if flags&tpReceivedAt != 0 {
		r.time(time.Time{})
	}
	for i, want := range [2]string{id, appID} {
		if flags&(2<<i) == 0 {
			if want != "" {
				return false
			}
		} else if !r.strEq(want) {
			return false
		}
	}
	return r.err == nil
}

// installFields are the string fields of an install, AppID and DeviceID first (installIs
// reads them there), the activity's ids last (installLastEvent reads them there):
// installField(in, i) is field i, named name here (TestInstallFields checks both agree).
var installFields = [...]struct {
	name string
	pack packing
}{
	{"AppID", packIntern},
	{"DeviceID", packBytes},
	{"InstallEventID", packBytes},
	{"MatchType", packIntern},
	{"MediaSource", packIntern},
	{"TouchType", packIntern},
	{"TouchpointID", packBytes},
	{"Campaign", packIntern | packBytes},
	{"Adset", packIntern | packBytes},
	{"Ad", packIntern | packBytes},
	{"SiteID", packIntern | packBytes},
	{"Channel", packIntern},
	{"ClickID", packBytes},
	{"DeepLinkValue", packIntern | packBytes},
	{"ReattributionKind", packIntern},
	{"OriginalMediaSource", packIntern},
	{"OriginalCampaign", packIntern | packBytes},
	{"Activity.IDFA", packBytes},
	{"Activity.GAID", packBytes},
	{"Activity.AndroidID", packBytes},
}

// installField returns the address of in's string field i of installFields. It is a
// switch, not a function in the table, so that an Install decoded into stays where its
// caller has it (on the stack): the compiler cannot see where a call through a function
// value lets its argument go, and moves it to the heap.
func installField(in *unmogrowp.Install, i int) *string {
	switch i {
	case 0:
		return &in.AppID
	case 1:
		return &in.DeviceID
	case 2:
		return &in.InstallEventID
	case 3:
		return &in.MatchType
	case 4:
		return &in.MediaSource
	case 5:
		return &in.TouchType
	case 6:
		return &in.TouchpointID
	case 7:
		return &in.Campaign
	case 8:
		return &in.Adset
	case 9:
		return &in.Ad
	case 10:
		return &in.SiteID
	case 11:
		return &in.Channel
	case 12:
		return &in.ClickID
	case 13:
		return &in.DeepLinkValue
	case 14:
		return &in.ReattributionKind
	case 15:
		return &in.OriginalMediaSource
	case 16:
		return &in.OriginalCampaign
	case 17:
		return &in.Activity.IDFA
	case 18:
		return &in.Activity.GAID
	case 19:
		return &in.Activity.AndroidID
	}
	panic("inmem: no install field " + strconv.Itoa(i))
}

// Install flags; bit installStrings+i: string field i present.
const (
	inAttributed = 1 << iota
	inReinstall
	inReattribution
	inInstallTime
	inTouchTime
	inFirstInstallTime
	inRejected
	inCTIT
	inLastEvent
	installStrings = iota
)

// epoch is the reference of install times: recent times take fewer bytes.
var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// encodeInstall appends the body of in's record: flags, the strings, partition, offset,
// the install time relative to epoch, the touch and first install times relative to the
// install time, ctit_seconds, the rejected touchpoints, and the device's last event time
// relative to the install time (its Activity).
func encodeInstall(w *writer, in *unmogrowp.Install) {
	var flags uint64
	for _, f := range []struct {
		set  bool
		flag uint64
	}{
		{in.Attributed, inAttributed}, {in.IsReinstall, inReinstall},
		{in.IsReattribution, inReattribution}, {!in.InstallTime.IsZero(), inInstallTime},
		{!in.TouchTime.IsZero(), inTouchTime}, {!in.FirstInstallTime.IsZero(), inFirstInstallTime},
		{len(in.Rejected) > 0, inRejected}, {in.CTITSeconds != 0, inCTIT},
		{!in.Activity.LastEventTime.IsZero(), inLastEvent},
	} {
		if f.set {
			flags |= f.flag
		}
	}
	for i := range installFields {
		if *installField(in, i) != "" {
			flags |= 1 << (installStrings + i)
		}
	}
	w.uvarint(flags)
	for i, f := range installFields {
		if flags&(1<<(installStrings+i)) != 0 {
			w.str(*installField(in, i), f.pack)
		}
	}
	w.varint(int64(in.Partition))
	w.varint(in.Offset)
	ref := epoch
	if flags&inInstallTime != 0 {
		w.time(in.InstallTime, epoch)
		ref = in.InstallTime
	}
	if flags&inTouchTime != 0 {
		w.time(in.TouchTime, ref)
	}
	if flags&inFirstInstallTime != 0 {
		w.time(in.FirstInstallTime, ref)
	}
	if flags&inCTIT != 0 {
		w.varint(in.CTITSeconds)
	}
	if flags&inRejected != 0 {
		// The count, the section's length in bytes (so that a reader that does not want
		// them skips it whole), then each rejected touchpoint.
		w.uvarint(uint64(len(in.Rejected)))
		start := len(w.b)
		for _, rj := range in.Rejected {
			w.str(rj.TouchpointID, packBytes)
			w.str(rj.MediaSource, packIntern)
			w.str(rj.Reason, packIntern)
		}
		var size [binary.MaxVarintLen64]byte
		w.b = slices.Insert(w.b, start, size[:binary.PutUvarint(size[:], uint64(len(w.b)-start))]...)
	}
	if flags&inLastEvent != 0 {
		w.time(in.Activity.LastEventTime, ref)
	}
}

// decodeInstall reads a body written by encodeInstall into in, every field of which it
// sets. An install without rejected touchpoints has a nil Rejected, and so does every
// install unless rejected: then the rejected touchpoints are read past, not decoded.
func decodeInstall(r *reader, in *unmogrowp.Install, rejected bool) {
	flags := r.uvarint()
	for i := range installFields {
		p := installField(in, i)
		*p = ""
		if flags&(1<<(installStrings+i)) != 0 {
			*p = r.str()
		}
	}
	in.Partition = int32(r.varint())
	in.Offset = r.varint()
	in.Attributed = flags&inAttributed != 0
	in.IsReinstall = flags&inReinstall != 0
	in.IsReattribution = flags&inReattribution != 0
	in.InstallTime, in.TouchTime, in.FirstInstallTime = time.Time{}, time.Time{}, time.Time{}
	ref := epoch
	if flags&inInstallTime != 0 {
		in.InstallTime = r.time(epoch)
		ref = in.InstallTime
	}
	if flags&inTouchTime != 0 {
		in.TouchTime = r.time(ref)
	}
	if flags&inFirstInstallTime != 0 {
		in.FirstInstallTime = r.time(ref)
	}
	in.CTITSeconds = 0
	if flags&inCTIT != 0 {
		in.CTITSeconds = r.varint()
	}
	in.Rejected = nil
	if flags&inRejected != 0 {
		n, size := r.uvarint(), r.uvarint()
		if n > size/3 || size > uint64(len(r.b)) { // each takes at least 3 bytes
			r.fail()
			return
		}
		if rejected {
			end := len(r.b) - int(size)
			in.Rejected = make([]unmogrowp.Rejection, n)
			for i := range in.Rejected {
				rj := &in.Rejected[i]
				rj.TouchpointID, rj.MediaSource, rj.Reason = r.str(), r.str(), r.str()
			}
			if len(r.b) != end {
				r.fail()
				return
			}
		} else {
			r.bytes(size)
		}
	}
	in.Activity.LastEventTime = time.Time{}
	if flags&inLastEvent != 0 {
		in.Activity.LastEventTime = r.time(ref)
	}
}

// installLastEvent reads an install body up to its device's last event time, without
// allocating. It reports whether the activity's ids in the body are idfa, gaid and
// androidID where those are not empty (sameIDs), the time the last event time is relative
// to, and the bytes of that time, which end the body (nil when the body has none).
func installLastEvent(r *reader, idfa, gaid, androidID string) (sameIDs bool, ref time.Time, last []byte) {
	flags := r.uvarint()
	ids := [...]string{idfa, gaid, androidID}
	first := len(installFields) - len(ids) // the activity's ids end installFields
	sameIDs = true
	for i := range installFields {
		present := flags&(1<<(installStrings+i)) != 0
		switch {
		case i < first || ids[i-first] == "":
			if present {
				r.skipStr()
			}
		case !present || !r.strEq(ids[i-first]):
			sameIDs = false
		}
	}
	r.varint() // partition
	r.varint() // offset
	ref = epoch
	if flags&inInstallTime != 0 {
		ref = r.time(epoch)
	}
	if flags&inTouchTime != 0 {
		r.time(ref)
	}
	if flags&inFirstInstallTime != 0 {
		r.time(ref)
	}
	if flags&inCTIT != 0 {
		r.varint()
	}
	if flags&inRejected != 0 {
		r.uvarint() // the count
		size := r.uvarint()
		if size > uint64(len(r.b)) {
			r.fail()
			return false, ref, nil
		}
		r.bytes(size)
	}
	if flags&inLastEvent != 0 && r.err == nil {
		last = r.b
	}
	return sameIDs, ref, last
}

// installIs reads the start of an install body and reports whether it is the install of
// (appID, deviceID), and its partition and offset, without allocating.
func installIs(r *reader, appID, deviceID string) (ok bool, partition int32, offset int64) {
	flags := r.uvarint()
	for i, want := range [2]string{appID, deviceID} {
		if flags&(1<<(installStrings+i)) == 0 {
			if want != "" {
				return false, 0, 0
			}
		} else if !r.strEq(want) {
			return false, 0, 0
		}
	}
	for i := 2; i < len(installFields); i++ {
		if flags&(1<<(installStrings+i)) != 0 {
			r.skipStr()
		}
	}
	partition = int32(r.varint())
	offset = r.varint()
	return r.err == nil, partition, offset
}
