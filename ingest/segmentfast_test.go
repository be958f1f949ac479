package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/testenv"
)

// benchSegmentCall returns the Segment track call that says what event (a benchEvents
// object) says, as Segment's mobile libraries send it.
func benchSegmentCall(event []byte) []byte {
	var e map[string]any
	if err := json.Unmarshal(event, &e); err != nil {
		panic(err)
	}
	name, _ := e["event_type"].(string)
	switch name {
	case "install":
		name = "Application Installed"
	case "session":
		name = "Application Opened"
	}
	osName, adID := "Android", e["gaid"]
	if e["platform"] == "ios" {
		osName, adID = "iOS", e["idfa"]
	}
	props, _ := e["event_data"].(map[string]any)
	if rev, ok := e["revenue"]; ok {
		props["revenue"], props["currency"] = rev, e["currency"]
	}
	call, err := json.Marshal(map[string]any{
		"type": "track", "event": name, "messageId": e["event_id"], "anonymousId": e["device_id"],
		"timestamp": time.Unix(int64(e["timestamp"].(float64)), 0).UTC().Format(time.RFC3339), "properties": props,
		"context": map[string]any{
			"os":       map[string]any{"name": osName, "version": e["os_version"]},
			"device":   map[string]any{"model": e["device_model"], "advertisingId": adID, "adTrackingEnabled": true},
			"app":      map[string]any{"version": e["app_version"]},
			"location": map[string]any{"country": e["country"]},
			"ip":       e["ip"], "userAgent": e["user_agent"],
		},
	})
	if err != nil {
		panic(err)
	}
	return call
}

// BenchSegmentCall is benchSegmentCall, for the benchmarks of package ingest_test.
var BenchSegmentCall = benchSegmentCall

// SegmentBatchBody is segmentBatchBody, for the benchmarks of package ingest_test.
var SegmentBatchBody = segmentBatchBody

// segmentBatchBody returns {"batch":[...]} of the calls.
func segmentBatchBody(calls [][]byte) []byte {
	return append(append([]byte(`{"batch":[`), bytes.Join(calls, []byte(","))...), `]}`...)
}

// BenchmarkSegmentDecode measures the decoding alone of the 100 events of BenchmarkDecode
// by the fast decoders, as a /v1/events/batch body and as the Segment /v1/batch body of the
// track calls that say the same (BenchmarkSegmentHandler's bodies), one of each in turn so
// that both see the same load of the machine. It reports the process's CPU time per event
// of each (cpu-ns/event), which other processes' load does not lengthen as it does wall
// time, and their ratio.
func BenchmarkSegmentDecode(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	events := benchEvents(r, 100, time.Now().Unix())
	var calls [][]byte
	for _, e := range events {
		calls = append(calls, benchSegmentCall(e))
	}
	eventsBody, segmentBody := batchBody(events...), segmentBatchBody(calls)
	now := time.Now().UTC()
	decodeEvents := func(e *unmogrowp.Event) error {
		eb := getEventBatch()
		defer eb.release()
		if !eb.split(eventsBody) {
			return fmt.Errorf("the fast path left the body to the reference")
		}
		return decodeAllFast(eb, e)
	}
	decodeSegment := func(e *unmogrowp.Event) error {
		sf := getSegmentFast()
		defer sf.release()
		if !sf.splitBatch(segmentBody) {
			return fmt.Errorf("the fast path left the body to the reference")
		}
		for i := range sf.calls {
			if !sf.calls[i].fast {
				return fmt.Errorf("the fast path left call %d to the reference", i)
			}
			if err := sf.decode(i, "", &sf.batch, now, e); err != nil {
				return err
			}
		}
		return nil
	}
	b.ReportAllocs()
	var e unmogrowp.Event
	var cpu [2]time.Duration
	for b.Loop() {
		for j, decode := range [2]func(*unmogrowp.Event) error{decodeEvents, decodeSegment} {
			start := testenv.ProcessCPU()
			if err := decode(&e); err != nil {
				b.Fatal(err)
			}
			cpu[j] += testenv.ProcessCPU() - start
		}
	}
	n := float64(b.N * len(events))
	b.ReportMetric(float64(cpu[0].Nanoseconds())/n, "events-cpu-ns/event")
	b.ReportMetric(float64(cpu[1].Nanoseconds())/n, "segment-cpu-ns/event")
	b.ReportMetric(cpu[1].Seconds()/cpu[0].Seconds(), "segment/events-cpu")
}
