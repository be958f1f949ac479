package ingest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// FuzzDecodeSegment feeds any body to the decoder of /v1/batch and each of its calls, as
// a call alone too: an error is always EINVALID with a sentence; a decoded call has a
// device id, an event id an event may hold, event_data and attribution that are JSON
// objects or nothing, and, once valid, survives the log record codec.
func FuzzDecodeSegment(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "segment", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"batch":[{"type":"track","event":"Application Installed","anonymousId":1,"properties":{"revenue":"1","referrer":"x"},"context":{"os":{"name":"Android"},"device":{"advertisingId":"g"},"referrer":{"url":"r"}}}],"sentAt":"2025-10-21T14:00:00Z"}`,
		`{"batch":[{"type":"screen","name":"n","properties":{"name":1},"userId":"u","originalTimestamp":1761056400}]}`,
		`{"batch":[{"type":"group","groupId":{},"userId":"u"}]}`, `{"batch":null}`, `{"type":"alias","previousId":"p","userId":"u","timestamp":"2015-2-2"}`,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2025, 10, 21, 14, 20, 0, 0, time.UTC)
	check := func(t *testing.T, err error, e *unmogrowp.Event) {
		t.Helper()
		if err != nil {
			if unmogrowp.ErrorCode(err) != unmogrowp.EINVALID || unmogrowp.ErrorMessage(err) == "" {
				t.Fatalf("decode error without EINVALID and a sentence: %v", err)
			}
			return
		}
		if e.DeviceID == "" || e.EventType == "" || len(e.EventID) > unmogrowp.MaxEventIDLen {
			t.Fatalf("decoded call without device id or type, or with a long event id: %+v", e)
		}
		for _, obj := range [][]byte{e.EventData, e.Attribution} {
			var m map[string]any
			if obj != nil && json.Unmarshal(obj, &m) != nil {
				t.Fatalf("event_data or attribution is not a JSON object: %q", obj)
			}
		}
		if err := e.Validate(now, 30*24*time.Hour); err != nil {
			if unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
				t.Fatalf("validate error without EINVALID: %v", err)
			}
			return
		}
		var back unmogrowp.Event
		if err := unmogrowp.DecodeEventRecord(unmogrowp.EncodeEventRecord(nil, e), &back); err != nil {
			t.Fatalf("a valid event does not survive the record codec: %v", err)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var e unmogrowp.Event
		check(t, decodeSegmentCall(b, "track", nil, now, &e), &e)
		var batch segmentBatch
		if err := decodeSegmentBatch(b, &batch); err != nil {
			check(t, err, nil)
			return
		}
		for _, c := range *batch.Batch {
			check(t, decodeSegmentCall(c, "", &batch, now, &e), &e)
		}
	})
}
