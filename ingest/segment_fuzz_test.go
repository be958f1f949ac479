package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// addSegmentExamples adds Segment's documentation examples (testdata/segment) as seeds.
func addSegmentExamples(f *testing.F) {
	f.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", "segment", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzDecodeSegment feeds any body to the decoder of /v1/batch and each of its calls, as
// a call alone too: an error is always EINVALID with a sentence; a decoded call has a
// device id, an event id an event may hold, event_data and attribution that are JSON
// objects or nothing, and, once valid, survives the log record codec.
func FuzzDecodeSegment(f *testing.F) {
	addSegmentExamples(f)
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

// FuzzSegmentFastMatchesReference checks the fast decoder of Segment's bodies
// (segmentfast.go) against the reference, for a batch and for a call alone: whenever the
// fast one takes a body, the reference takes it too, with the same calls, and each call
// gives the same event or the same error.
func FuzzSegmentFastMatchesReference(f *testing.F) {
	addSegmentExamples(f)
	for _, s := range []string{
		`{"batch":[{"type":"track","event":"Application Installed","messageId":"m","anonymousId":"a","properties":{"revenue":"1.5","currency":"eur","referrer":"click_id=x"},"context":{"os":{"name":"Android","version":"14"},"device":{"advertisingId":"g","adTrackingEnabled":false,"model":"P"},"app":{"version":"1"},"location":{"country":"FR"},"referrer":{"url":"r"},"campaign":{"name":"c"},"ip":"1.2.3.4","userAgent":"u","locale":"fr"},"timestamp":"2025-10-21T14:00:00Z","integrations":{}}],"context":{"locale":"en"},"sentAt":"2025-10-21T14:05:00Z","writeKey":"k"}`,
		`{"batch":[{"type":"screen","name":"n","properties":{"name":1},"userId":"u","originalTimestamp":1761056400,"sentAt":"2015-2-2"},{"type":"identify","userId":"\u00e9","traits":{"a":"\ud800"}},1,{"Type":"track"}]}`,
		`{"type":"track","event":"x","anonymousId":"a","properties":{"Revenue":1,"value":"2"},"context":null,"writeKey":"w"}`,
		`{"batch":[{"type":"alias","previousId":"p","userId":7,"context":{"device":{"adTrackingEnabled":"yes"}}}]} `,
		// Keys that are known ones but for case, or that differ from one by a non-letter.
		`{"batch":[{"type":"track","event":"e","anonymousId":"a","messageid":"m","context":{"IP":"1.2.3.4","device":{"advertisingid":"g","mode1":"x"},"os":{"NAME":"iOS"},"location":{"countrY":"FR"}},"properties":{"CURRENCY":"eur","revenue":1,"t0tal":2,"referre_":"x","Referrer":"y"}}]}`,
		`{"batch":[{"type":"track","event":"e","anonymousId":"a","properties":{"revenue":1,"currency":"EUR","t@tal":3,"valuE":2}}]}`,
		// Keys the first call teaches the decoder to expect, then with space before their
		// ':', with a longer or a shorter name, and a long one near the body's end.
		`{"batch":[{"type":"track","event":"e","anonymousId":"a","context":{"os":{"name":"iOS"},"device":{"adTrackingEnabled":true}}},{"type" :"track","event"` + "\t:" + ` "e","anonymousId":"a","context" :{"os" : {"name" :"iOS"},"device":{"adTrackingEnabled" :false}}},{"typ":"x","type":"track","eventx":1,"event":"f","anonymousId":"b"}],"originalTimestamp":1}`,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2025, 10, 21, 14, 20, 0, 0, time.UTC)
	same := func(t *testing.T, what string, fastErr, refErr error, fast, ref *unmogrowp.Event) {
		t.Helper()
		if fmt.Sprint(fastErr) != fmt.Sprint(refErr) {
			t.Fatalf("%s: fast error %v, reference %v", what, fastErr, refErr)
		}
		if fastErr == nil && fmt.Sprintf("%+v", *fast) != fmt.Sprintf("%+v", *ref) {
			t.Fatalf("%s:\n fast %+v\n  ref %+v", what, *fast, *ref)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sf := getSegmentFast()
		defer sf.release()
		if sf.splitBatch(b) {
			var rb segmentBatch
			refErr := decodeSegmentBatch(b, &rb)
			if fastErr := checkText(b, "The body"); fmt.Sprint(fastErr) != fmt.Sprint(refErr) {
				t.Fatalf("batch: fast error %v, reference %v", fastErr, refErr)
			}
			if refErr != nil {
				return
			}
			if len(*rb.Batch) != len(sf.calls) || rb.WriteKey != sf.batch.WriteKey {
				t.Fatalf("batch: fast split %d calls (key %q), reference %d (key %q)", len(sf.calls), sf.batch.WriteKey, len(*rb.Batch), rb.WriteKey)
			}
			for i, raw := range *rb.Batch {
				if !bytes.Equal(raw, sf.calls[i].raw) {
					t.Fatalf("call %d: fast bytes %q, reference %q", i, sf.calls[i].raw, raw)
				}
				var fe, re unmogrowp.Event
				batchCopy := rb
				fastErr := sf.decode(i, "", &sf.batch, now, &fe)
				same(t, fmt.Sprintf("call %d", i), fastErr, decodeSegmentCall(raw, "", &batchCopy, now, &re), &fe, &re)
			}
		}
		if sf.single(b) {
			var fe, re unmogrowp.Event
			fastErr := sf.decode(0, "track", nil, now, &fe)
			same(t, "single", fastErr, decodeSegmentCall(b, "track", nil, now, &re), &fe, &re)
		}
	})
}
