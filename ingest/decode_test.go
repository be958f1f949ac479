package ingest

import (
	"reflect"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

func FuzzDecodeEvent(f *testing.F) {
	for _, s := range []string{
		`{"event_type":"install","device_id":"d","timestamp":1761056400}`,
		`{"event_type":"purchase","device_id":"d","revenue":"9.99","currency":"eur","timestamp":"2025-10-21T14:00:00Z","event_data":{"a":1}}`,
		`{"event_type":"session","device_id":"d","timestamp":1761056400000,"ip":"::1","attribution":null}`,
		`{"event_type":1}`, `[]`, `{"device_id":"\u0000"}`, `{"timestamp":1e400}`,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2025, 10, 21, 14, 20, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		var e unmogrowp.Event
		err := decodeEvent(b, &e)
		if err != nil {
			if unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
				t.Fatalf("decode error without EINVALID: %v", err)
			}
			return
		}
		if err := e.Validate(now, 30*24*time.Hour); err != nil {
			if unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
				t.Fatalf("validate error without EINVALID: %v", err)
			}
			return
		}
		if e.EventType == "" || e.DeviceID == "" || e.Timestamp.IsZero() {
			t.Fatalf("valid event lacks required fields: %+v", e)
		}
		var back unmogrowp.Event
		if err := unmogrowp.DecodeEventRecord(unmogrowp.EncodeEventRecord(nil, &e), &back); err != nil {
			t.Fatalf("a valid event does not survive the record codec: %v", err)
		}
	})
}

func FuzzSplitBatch(f *testing.F) {
	for _, s := range []string{`{"events":[{"a":1},{"b":2}]}`, `[{}, 1, "x", null]`, `{"events":null}`, `{"events":{}}`, `[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		raws, err := splitBatch(b)
		if err != nil {
			if unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
				t.Fatalf("split error without EINVALID: %v", err)
			}
			return
		}
		for _, r := range raws {
			var e unmogrowp.Event
			if err := decodeEvent(r, &e); err != nil && unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
				t.Fatalf("decode error without EINVALID: %v", err)
			}
		}
	})
}

func FuzzDecodeTouchpoints(f *testing.F) {
	for _, s := range []string{
		`{"touchpoints":[{"type":"click","media_source":"facebook_ads","campaign":"c","timestamp":1761056400,"ip":"203.0.113.7","user_agent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X)"}]}`,
		`{"touchpoints":[{"type":"impression","link_id":"lk_a","idfa":"00000000-0000-0000-0000-000000000000","timestamp":"2025-10-21T14:00:00.123456789+02:00","sub3":"x"}]}`,
		`[{"type":"Click","media_source":"n","timestamp":1761056400000,"ip":"::ffff:1.2.3.4","gaid":"g","device_id":"0"}, {"type":"click"}, 7, null]`,
		`{"touchpoints":[{"type":"click","media_source":"n","ip":"1.2.3.4:80"},{"type":1},{"timestamp":"soon"}]}`,
		`{"touchpoints":[{"type":"click","media_source":"n","device_id":"d","third_party_sharing":false},{"type":"click","third_party_sharing":"no"}]}`,
		`{"touchpoints":null}`, `{"touchpoints":{}}`, `{"events":[]}`, `[`, `{"touchpoints":[{"type":"click","media_source":"\u0000\ud800"}]}`,
		`[{"type":"click","media_source":"n","cost_model":"cpc","cost_value":"0.3","cost_currency":"eur"},{"type":"impression","media_source":"n","af_cost_model":"CPM","af_cost_value":1e3}]`,
		`[{"type":"click","media_source":"n","cost_model":"cpi","cost_value":[1]},{"type":"click","media_source":"n","cost_value":null,"cost_model":"x"}]`,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2025, 10, 21, 14, 20, 0, 0, time.UTC)
	link := &unmogrowp.Link{ID: "lk_a", AppID: "app_1", MediaSource: "net", Campaign: "autumn"}
	f.Fuzz(func(t *testing.T, b []byte) {
		raws, err := splitTouchpoints(b)
		if err != nil {
			if unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
				t.Fatalf("split error without EINVALID: %v", err)
			}
			return
		}
		for _, raw := range raws {
			var tp unmogrowp.Touchpoint
			if err := decodeTouchpoint(raw, &tp); err != nil {
				if unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
					t.Fatalf("decode error without EINVALID: %v", err)
				}
				continue
			}
			if tp.LinkID == link.ID {
				tp.ApplyLink(link)
			}
			if err := tp.Validate(now, 30*24*time.Hour); err != nil {
				if unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
					t.Fatalf("validate error without EINVALID: %v", err)
				}
				continue
			}
			switch {
			case tp.Type != unmogrowp.TouchClick && tp.Type != unmogrowp.TouchImpression:
				t.Fatalf("valid touchpoint of type %q", tp.Type)
			case tp.MediaSource == "" || tp.Time.IsZero() || tp.Time.Location() != time.UTC || !tp.ReceivedAt.Equal(now):
				t.Fatalf("valid touchpoint lacks required fields: %+v", tp)
			case tp.Time.After(now.Add(unmogrowp.MaxFutureSkew)) || tp.Time.Before(now.Add(-30*24*time.Hour)):
				t.Fatalf("valid touchpoint out of its time bounds: %v", tp.Time)
			case tp.IDFA != "" && unmogrowp.IsZeroID(tp.IDFA), tp.DeviceID != "" && unmogrowp.IsZeroID(tp.DeviceID):
				t.Fatalf("zero device id kept: %+v", tp)
			}
			tp.ID, tp.AppID = newEventID(), "app_1"
			var back unmogrowp.Touchpoint
			if err := unmogrowp.DecodeTouchpointRecord(unmogrowp.EncodeTouchpointRecord(nil, &tp), &back); err != nil {
				t.Fatalf("a valid touchpoint does not survive the record codec: %v", err)
			}
			tp.Time = tp.Time.Truncate(time.Microsecond) // the record keeps microseconds
			if !reflect.DeepEqual(back, tp) {
				t.Fatalf("record codec changed a valid touchpoint:\n got %+v\nwant %+v", back, tp)
			}
		}
	})
}
