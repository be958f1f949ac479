package unmogrowp

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"
)

func sampleTouchpoint() Touchpoint {
	ts := time.Date(2025, 10, 21, 14, 20, 0, 123000, time.UTC)
	return Touchpoint{
		ID: "tp_01JB9", AppID: "app_1", Type: TouchClick, LinkID: "lnk_7",
		MediaSource: "facebook_ads", Campaign: "autumn", Adset: "as1", Ad: "ad9", SiteID: "s42",
		Channel: "instagram", ClickID: "fbclid-123", Time: ts, ReceivedAt: ts.Add(time.Second),
		IP: "2001:db8::7", UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X)",
		IDFA: "6D92078A-8246-4BA4-AE5B-76104861E7DC", GAID: "g", AndroidID: "a", DeviceID: "d",
		DeepLinkValue: "product/42", Sub: [5]string{"one", "", "three", "", "fünf"},
	}
}

func TestTouchpointRecordRoundTrip(t *testing.T) {
	for name, tp := range map[string]Touchpoint{
		"full":               sampleTouchpoint(),
		"minimal":            {Type: TouchImpression, AppID: "a"},
		"empty":              {},
		"pre-epoch":          {ID: "x", Time: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)},
		"long value":         {ID: string(bytes.Repeat([]byte{'z'}, 70000))},
		"cpc":                {Type: TouchClick, AppID: "a", CostModel: CostCPC, CostValue: 0.35, CostCurrency: "EUR"},
		"free cpi":           {Type: TouchClick, AppID: "a", CostModel: CostCPI, CostCurrency: "USD"},
		"no sharing":         {ID: "x", DeviceID: "d", ThirdPartySharing: new(false)},
		"sharing":            {ID: "x", DeviceID: "d", ThirdPartySharing: new(true)},
		"opened":             {ID: "x", DeviceID: "d", Type: TouchClick, Opened: true},
		"opened and sharing": {ID: "x", DeviceID: "d", Type: TouchClick, Opened: true, ThirdPartySharing: new(false), CostModel: CostCPC, CostValue: 1, CostCurrency: "USD"},
		"cpm and no sharing": {Type: TouchImpression, AppID: "a", CostModel: CostCPM, CostValue: 2, CostCurrency: "USD", ThirdPartySharing: new(false)},
	} {
		t.Run(name, func(t *testing.T) {
			b := EncodeTouchpointRecord(nil, &tp)
			if b[0] != RecordTouchpoint {
				t.Fatalf("first byte = %d, want RecordTouchpoint", b[0])
			}
			var got Touchpoint
			if err := DecodeTouchpointRecord(b, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tp) {
				t.Fatalf("round trip changed the touchpoint:\n got %+v\nwant %+v", got, tp)
			}
		})
	}
}

// A touchpoint without cost encodes as it did before cost was added, and a record with a
// cost that ingestion could not have written does not decode.
func TestTouchpointRecordCost(t *testing.T) {
	tp := sampleTouchpoint()
	plain := EncodeTouchpointRecord(nil, &tp)
	tp.CostModel, tp.CostValue, tp.CostCurrency = CostCPC, 0.5, "USD"
	withCost := EncodeTouchpointRecord(nil, &tp)
	if !bytes.HasPrefix(withCost, plain) || withCost[len(plain)] != touchpointCost {
		t.Fatalf("the cost is not a trailer after the record of old:\n%x\n%x", plain, withCost)
	}
	for name, bad := range map[string]Touchpoint{
		"negative": {Type: TouchClick, CostModel: CostCPC, CostValue: -1},
		"huge":     {Type: TouchClick, CostModel: CostCPC, CostValue: 2 * MaxCost},
	} {
		var got Touchpoint
		if err := DecodeTouchpointRecord(EncodeTouchpointRecord(nil, &bad), &got); !errors.Is(err, ErrCorruptRecord) {
			t.Errorf("%s: err = %v, want ErrCorruptRecord", name, err)
		}
	}
	b := EncodeTouchpointRecord(nil, &Touchpoint{Type: TouchClick, CostModel: CostCPC})
	b[len(EncodeTouchpointRecord(nil, &Touchpoint{Type: TouchClick}))] = 2 // an unknown kind of trailer
	var got Touchpoint
	if err := DecodeTouchpointRecord(b, &got); !errors.Is(err, ErrCorruptRecord) {
		t.Errorf("unknown trailer: err = %v, want ErrCorruptRecord", err)
	}
}

func TestTouchpointRecordKeepsPosition(t *testing.T) {
	tp := sampleTouchpoint()
	b := EncodeTouchpointRecord(nil, &tp)
	got := Touchpoint{Partition: 3, Offset: 99}
	if err := DecodeTouchpointRecord(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Partition != 3 || got.Offset != 99 {
		t.Fatalf("decode changed the log position: %d/%d", got.Partition, got.Offset)
	}
}

func TestDecodeTouchpointRecordRejectsDamage(t *testing.T) {
	tp := sampleTouchpoint()
	b := EncodeTouchpointRecord(nil, &tp)
	for i := 0; i < len(b); i++ { // every truncation
		var got Touchpoint
		if err := DecodeTouchpointRecord(b[:i], &got); !errors.Is(err, ErrCorruptRecord) {
			t.Fatalf("truncated at %d of %d: err = %v, want ErrCorruptRecord", i, len(b), err)
		}
	}
	var got Touchpoint
	if err := DecodeTouchpointRecord(append(bytes.Clone(b), 0), &got); !errors.Is(err, ErrCorruptRecord) {
		t.Fatalf("trailing byte: err = %v", err)
	}
	e := sampleEvent()
	if err := DecodeTouchpointRecord(EncodeEventRecord(nil, &e), &got); !errors.Is(err, ErrCorruptRecord) {
		t.Fatalf("an event record decoded as a touchpoint: err = %v", err)
	}
	var ev Event
	if err := DecodeEventRecord(b, &ev); !errors.Is(err, ErrCorruptRecord) {
		t.Fatalf("a touchpoint record decoded as an event: err = %v", err)
	}
}

func TestTouchpointRecordDoesNotAlias(t *testing.T) {
	tp := sampleTouchpoint()
	b := EncodeTouchpointRecord(nil, &tp)
	var got Touchpoint
	if err := DecodeTouchpointRecord(b, &got); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 0
	}
	if got.MediaSource != tp.MediaSource || got.UserAgent != tp.UserAgent {
		t.Fatalf("decoded strings changed with the buffer: %q %q", got.MediaSource, got.UserAgent)
	}
}

func FuzzDecodeTouchpointRecord(f *testing.F) {
	tp := sampleTouchpoint()
	f.Add(EncodeTouchpointRecord(nil, &tp))
	f.Add(EncodeTouchpointRecord(nil, &Touchpoint{Type: TouchImpression}))
	f.Add(EncodeTouchpointRecord(nil, &Touchpoint{Type: TouchImpression, CostModel: CostCPM, CostValue: 12.5, CostCurrency: "JPY"}))
	f.Add(EncodeTouchpointRecord(nil, &Touchpoint{Type: TouchClick, ThirdPartySharing: new(false)}))
	f.Add(EncodeTouchpointRecord(nil, &Touchpoint{Type: TouchClick, DeviceID: "d", Opened: true}))
	f.Add(EncodeTouchpointRecord(nil, &Touchpoint{Type: TouchImpression, CostModel: CostCPM, CostValue: 1, CostCurrency: "USD", ThirdPartySharing: new(true)}))
	f.Add([]byte{RecordTouchpoint, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		var got Touchpoint
		if err := DecodeTouchpointRecord(b, &got); err != nil {
			if !errors.Is(err, ErrCorruptRecord) {
				t.Fatalf("error does not wrap ErrCorruptRecord: %v", err)
			}
			return
		}
		// Whatever decodes must encode back to a record that decodes to the same value.
		again := EncodeTouchpointRecord(nil, &got)
		var got2 Touchpoint
		if err := DecodeTouchpointRecord(again, &got2); err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if !reflect.DeepEqual(got, got2) {
			t.Fatalf("decode(encode(decode(b))) differs from decode(b)")
		}
	})
}

func BenchmarkTouchpointRecord(b *testing.B) {
	tp := sampleTouchpoint()
	buf := EncodeTouchpointRecord(nil, &tp)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	var got Touchpoint
	for b.Loop() {
		buf = EncodeTouchpointRecord(buf[:0], &tp)
		if err := DecodeTouchpointRecord(buf, &got); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "touchpoints/s")
}

func TestAttributionJSON(t *testing.T) {
	install := time.Date(2025, 10, 21, 14, 20, 0, 0, time.UTC)
	tests := []struct {
		name string
		a    Attribution
		want string
	}{{
		name: "attributed click",
		a: Attribution{
			AppID: "app_1", DeviceID: "dev-1", InstallEventID: "e-1", InstallTime: install,
			Attributed: true, MatchType: MatchReferrer, TouchType: TouchClick,
			TouchpointID: "tp_1", TouchTime: install.Add(-123*time.Second - 500*time.Millisecond),
			MediaSource: "facebook_ads", Campaign: "c", Adset: "as", Ad: "ad", SiteID: "s",
			Channel: "ch", ClickID: "net-1", DeepLinkValue: "dl", CTITSeconds: 123,
			Rejected: []Rejection{{TouchpointID: "tp_0", MediaSource: "spam", Reason: RejectBlockedIP}},
		},
		want: `{"app_id":"app_1","device_id":"dev-1","install_event_id":"e-1",` +
			`"install_time":"2025-10-21T14:20:00Z","attributed":true,"match_type":"referrer",` +
			`"touch_type":"click","touchpoint_id":"tp_1","touch_time":"2025-10-21T14:17:56.5Z",` +
			`"media_source":"facebook_ads","campaign":"c","adset":"as","ad":"ad","site_id":"s",` +
			`"channel":"ch","click_id":"net-1","deep_link_value":"dl","ctit_seconds":123,` +
			`"is_reinstall":false,"is_reattribution":false,"reattribution_kind":"",` +
			`"rejected":[{"touchpoint_id":"tp_0","media_source":"spam","reason":"blocked_ip"}],` +
			`"third_party_sharing":true}`,
	}, {
		name: "organic",
		a: Attribution{
			AppID: "app_1", DeviceID: "dev-1", InstallEventID: "e-1",
			InstallTime: install.In(time.FixedZone("CEST", 7200)), MatchType: MatchOrganic,
			MediaSource: MediaSourceOrganic, IsReinstall: true, ReattributionKind: ReattributionReinstall, NoSharing: true,
		},
		want: `{"app_id":"app_1","device_id":"dev-1","install_event_id":"e-1",` +
			`"install_time":"2025-10-21T14:20:00Z","attributed":false,"match_type":"organic",` +
			`"touch_type":"","touchpoint_id":"","touch_time":"","media_source":"organic",` +
			`"campaign":"","adset":"","ad":"","site_id":"","channel":"","click_id":"",` +
			`"deep_link_value":"","ctit_seconds":0,"is_reinstall":true,` +
			`"is_reattribution":false,"reattribution_kind":"reinstall","rejected":[],"third_party_sharing":false}`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.a)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Fatalf("json:\n got %s\nwant %s", b, tt.want)
			}
			var back Attribution
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			want := tt.a
			want.InstallTime = want.InstallTime.UTC()
			if !reflect.DeepEqual(back, want) {
				t.Fatalf("json round trip:\n got %+v\nwant %+v", back, want)
			}
		})
	}
}

func TestAttributionUnmarshalRejectsBadTimes(t *testing.T) {
	for _, in := range []string{
		`{"install_time":"yesterday"}`,
		`{"install_time":"2025-10-21T14:20:00Z","touch_time":"1761056400"}`,
		`{"rejected":"none"}`,
	} {
		var a Attribution
		if err := json.Unmarshal([]byte(in), &a); err == nil {
			t.Errorf("%s: decoded without error: %+v", in, a)
		}
	}
}

// TestTouchpointRecordWithoutConsent checks that a touchpoint record written before
// ThirdPartySharing existed decodes with it nil, and that one with it is one byte longer.
func TestTouchpointRecordWithoutConsent(t *testing.T) {
	tp := sampleTouchpoint()
	old := EncodeTouchpointRecord(nil, &tp)
	tp.ThirdPartySharing = new(false)
	withConsent := EncodeTouchpointRecord(nil, &tp)
	if len(withConsent) != len(old)+1 || !bytes.Equal(withConsent[:len(old)], old) {
		t.Fatalf("a record with consent is not the record without it and one byte")
	}
	var got Touchpoint
	if err := DecodeTouchpointRecord(old, &got); err != nil || got.ThirdPartySharing != nil {
		t.Fatalf("old record: err %v, ThirdPartySharing %v, want nil", err, got.ThirdPartySharing)
	}
	for _, tail := range [][]byte{{6}, {5, 5}, {5, 3}, {4, 3}} {
		if err := DecodeTouchpointRecord(append(slices.Clip(old), tail...), &got); !errors.Is(err, ErrCorruptRecord) {
			t.Fatalf("a record ending in %v: err %v, want ErrCorruptRecord", tail, err)
		}
	}
}
