package unmogrowp

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"
)

func sampleEvent() Event {
	ts := time.Date(2025, 10, 21, 14, 20, 0, 123000, time.UTC)
	return Event{
		EventID: "e-1", AppID: "app_1", EventType: "purchase", DeviceID: "dev-1", UserID: "u1",
		SessionID: "s1", Timestamp: ts, ReceivedAt: ts.Add(time.Second), Platform: "ios",
		OSVersion: "17.1", AppVersion: "2.0", DeviceModel: "iPhone15,2", Country: "DE",
		Language: "de", IDFA: "6D92078A-8246-4BA4-AE5B-76104861E7DC", ATTStatus: "authorized",
		InstallReferrer: "click_id=abc&pid=x", InstallBeginAt: ts.Add(-time.Minute),
		Revenue: 9.99, HasRevenue: true, Currency: "EUR", IP: "203.0.113.7",
		UserAgent:   "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X)",
		Attribution: []byte(`{"pid":"x"}`), EventData: []byte(`{"sku":"gold","n":[1,2]}`),
	}
}

func TestEventRecordRoundTrip(t *testing.T) {
	for name, e := range map[string]Event{
		"full":    sampleEvent(),
		"minimal": {EventType: "session", DeviceID: "d"},
		"zero revenue": func() Event {
			e := sampleEvent()
			e.Revenue = 0
			return e
		}(),
		"third party sharing false": withSharing(sampleEvent(), false),
		"third party sharing true":  withSharing(Event{EventType: "session", DeviceID: "d"}, true),
	} {
		t.Run(name, func(t *testing.T) {
			b := EncodeEventRecord(nil, &e)
			var got Event
			if err := DecodeEventRecord(b, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, e) {
				t.Fatalf("round trip changed the event:\n got %+v\nwant %+v", got, e)
			}
		})
	}
}

func withSharing(e Event, v bool) Event {
	e.ThirdPartySharing = &v
	return e
}

// TestEventRecordConsentCompatible checks how third_party_sharing was added: a record
// without it is byte for byte the encoding of before (records already in a log decode as
// they did), one with it is that and one byte more, and any other last byte is damage.
func TestEventRecordConsentCompatible(t *testing.T) {
	e := sampleEvent()
	before := EncodeEventRecord(nil, &e)
	for _, v := range []bool{false, true} {
		with := withSharing(e, v)
		b := EncodeEventRecord(nil, &with)
		if !bytes.Equal(b[:len(before)], before) || len(b) != len(before)+1 {
			t.Fatalf("sharing %v: the record is not the one without it and a byte", v)
		}
	}
	var got Event
	got.ThirdPartySharing = new(bool) // a decode into a used event clears it
	if err := DecodeEventRecord(before, &got); err != nil || got.ThirdPartySharing != nil {
		t.Fatalf("a record without consent: %v, sharing %v", err, got.ThirdPartySharing)
	}
	for _, last := range []byte{0, 3, 0xff} {
		if err := DecodeEventRecord(append(bytes.Clone(before), last), &got); !errors.Is(err, ErrCorruptRecord) {
			t.Errorf("last byte %d: err = %v, want ErrCorruptRecord", last, err)
		}
	}
	with := withSharing(e, true)
	if err := DecodeEventRecord(append(EncodeEventRecord(nil, &with), consentTrue), &got); !errors.Is(err, ErrCorruptRecord) {
		t.Errorf("two consent bytes: err = %v, want ErrCorruptRecord", err)
	}
}

func TestDecodeEventRecordRejectsDamage(t *testing.T) {
	e := sampleEvent()
	b := EncodeEventRecord(nil, &e)
	for i := 0; i < len(b); i++ { // every truncation
		var got Event
		if err := DecodeEventRecord(b[:i], &got); !errors.Is(err, ErrCorruptRecord) {
			t.Fatalf("truncated at %d of %d: err = %v, want ErrCorruptRecord", i, len(b), err)
		}
	}
	var got Event
	if err := DecodeEventRecord(append(bytes.Clone(b), 0), &got); !errors.Is(err, ErrCorruptRecord) {
		t.Fatalf("trailing byte: err = %v", err)
	}
	bad := bytes.Clone(b)
	bad[0] = 99
	if err := DecodeEventRecord(bad, &got); !errors.Is(err, ErrCorruptRecord) {
		t.Fatalf("unknown kind: err = %v", err)
	}
}

// TestDecodedStringsAreCopies checks that a decoded event keeps nothing of the record's
// bytes, which the log reader reuses (TestTouchpointRecordDoesNotAlias does touchpoints).
func TestDecodedStringsAreCopies(t *testing.T) {
	e := sampleEvent()
	rec := EncodeEventRecord(nil, &e)
	var got Event
	if err := DecodeEventRecord(rec, &got); err != nil {
		t.Fatal(err)
	}
	for i := range rec {
		rec[i] = 'x'
	}
	if !reflect.DeepEqual(got, e) {
		t.Errorf("the event changed with its record's bytes:\n got %+v\nwant %+v", got, e)
	}
}

func FuzzDecodeEventRecord(f *testing.F) {
	e := sampleEvent()
	f.Add(EncodeEventRecord(nil, &e))
	f.Add(EncodeEventRecord(nil, &Event{EventType: "install", DeviceID: "d"}))
	consent := withSharing(Event{EventType: "install", DeviceID: "d"}, false)
	f.Add(EncodeEventRecord(nil, &consent))
	f.Add([]byte{RecordEvent, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		var got Event
		if err := DecodeEventRecord(b, &got); err != nil {
			return
		}
		// Whatever decodes must encode back to the same bytes (the encoding is canonical
		// for decodable input) and decode to the same event.
		again := EncodeEventRecord(nil, &got)
		var got2 Event
		if err := DecodeEventRecord(again, &got2); err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if !reflect.DeepEqual(got, got2) {
			t.Fatalf("decode(encode(decode(b))) differs from decode(b)")
		}
	})
}

func BenchmarkEventRecord(b *testing.B) {
	e := sampleEvent()
	buf := EncodeEventRecord(nil, &e)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	var got Event
	for b.Loop() {
		buf = EncodeEventRecord(buf[:0], &e)
		if err := DecodeEventRecord(buf, &got); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
