package ingest

import (
	"log/slog"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

func nil2discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

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

func TestParseTime(t *testing.T) {
	want := time.Date(2025, 10, 21, 14, 0, 0, 0, time.UTC)
	for _, s := range []string{"1761055200", "1761055200000", "2025-10-21T14:00:00Z", "1761055200.0"} {
		if got, err := ParseTime(s); err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "x", "-1", "NaN", `"1"`} {
		if _, err := ParseTime(s); err == nil {
			t.Errorf("ParseTime(%q) accepted", s)
		}
	}
}
