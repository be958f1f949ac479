package ingest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// benchEvents returns n realistic events of about 440 bytes as JSON objects.
func benchEvents(r *rand.Rand, n int, now int64) [][]byte {
	types := []string{"session", "session", "session", "level_complete", "ad_view", "purchase", "install"}
	out := make([][]byte, n)
	for i := range out {
		dev := r.IntN(100_000)
		typ := types[r.IntN(len(types))]
		ids := fmt.Sprintf(`"platform":"android","os_version":"14","device_model":"Pixel 8","gaid":"38400000-8cf0-11bd-b23e-%012d","user_agent":"Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8)"`, dev)
		if dev%2 == 0 {
			ids = fmt.Sprintf(`"platform":"ios","os_version":"17.1.2","device_model":"iPhone15,2","idfa":"6D92078A-8246-4BA4-AE5B-%012d","user_agent":"Game/3 CFNetwork/1485 Darwin/23.1.0"`, dev)
		}
		extra := fmt.Sprintf(`"event_data":{"screen":"level_%d","ab_group":"B","score":%d}`, r.IntN(60), r.IntN(100000))
		if typ == "purchase" {
			extra = `"revenue":4.99,"currency":"USD","event_data":{"product_id":"gems_550","quantity":1}`
		}
		out[i] = fmt.Appendf(nil, `{"event_type":"%s","event_id":"bench-%016x","device_id":"d%010d","session_id":"s%010d-%04d","timestamp":%d,%s,"app_version":"3.2.1","country":"US","ip":"203.0.113.%d",%s}`,
			typ, r.Uint64(), dev, dev, r.IntN(10000), now, ids, 1+r.IntN(250), extra)
	}
	return out
}

// BenchEvents is benchEvents, for the benchmarks of package ingest_test.
var BenchEvents = benchEvents

// BatchBody is batchBody, for the benchmarks of package ingest_test.
var BatchBody = batchBody

// batchBody returns {"events":[...]} of the events.
func batchBody(events ...[]byte) []byte {
	return append(append([]byte(`{"events":[`), bytes.Join(events, []byte(","))...), `]}`...)
}

// loadgenEvents are events as `unmogrowp loadgen` sends them (cmd/unmogrowp/loadgen_traffic.go),
// one of each shape.
var loadgenEvents = []string{
	`{"event_type":"purchase","event_id":"r7k2m9qa-00000100000000a1","device_id":"d0000004242","session_id":"s0000004242-0042","timestamp":1761056400,"platform":"ios","os_version":"17.1.2","app_version":"3.2.1","device_model":"iPhone15,2","country":"US","idfa":"6D92078A-8246-4BA4-AE5B-000000004242","ip":"151.123.145.167","user_agent":"Game/3 CFNetwork/1485 Darwin/23.1.0","revenue":4.99,"currency":"USD","event_data":{"product_id":"gems_550","quantity":1,"store":"ios"}}`,
	`{"event_type":"install","event_id":"r7k2m9qa-00000100000000a2","device_id":"d0000004243","session_id":"s0000004243-0007","timestamp":1761056400,"platform":"android","os_version":"14","app_version":"3.0.1","device_model":"Pixel 8","country":"DE","gaid":"38400000-8cf0-11bd-b23e-000000004243","ip":"152.200.101.199","user_agent":"Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8)","install_referrer":"utm_source=google-play&utm_medium=organic","event_data":{"first_open":true}}`,
	`{"event_type":"install","event_id":"r7k2m9qa-00000100000000a3","device_id":"d0000004244","session_id":"s0000004244-9999","timestamp":1761056400,"platform":"ios","os_version":"18.0","app_version":"3.3.1","device_model":"iPhone16,1","country":"JP","idfa":"6D92078A-8246-4BA4-AE5B-000000004244","ip":"190.255.100.100","user_agent":"Game/3 CFNetwork/1568 Darwin/24.0.0","att_status":"authorized","event_data":{"first_open":true}}`,
	`{"event_type":"level_complete","event_id":"r7k2m9qa-00000100000000a4","device_id":"d0000004245","session_id":"s0000004245-0100","timestamp":1761056400,"platform":"android","os_version":"12","app_version":"3.1.1","device_model":"Redmi Note 11","country":"IN","gaid":"38400000-8cf0-11bd-b23e-000000004245","ip":"170.110.120.130","user_agent":"Dalvik/2.1.0 (Linux; U; Android 12; Redmi Note 11)","event_data":{"screen":"level_17","ab_group":"C","score":81234}}`,
	`{"event_type":"app_open","event_id":"r7k2m9qa-00000100000000a5","device_id":"d0000004246","session_id":"s0000004246-0001","timestamp":1761056400,"platform":"ios","os_version":"16.6","app_version":"3.2.1","device_model":"iPhone14,5","country":"BR","idfa":"6D92078A-8246-4BA4-AE5B-000000004246","ip":"160.150.140.130","user_agent":"Game/3 CFNetwork/1410 Darwin/22.6.0","event_data":{"screen":"level_0","ab_group":"A","score":0}}`,
}

// commonEvents are events of forms SDKs and servers send which the fast path decodes
// itself: every one must be taken without the reference.
var commonEvents = append(append([]string(nil), loadgenEvents...),
	`{"event_type":"session","device_id":"d1"}`,
	`{}`,
	`{"event_type":"purchase","device_id":"d1","timestamp":"2025-10-21T14:00:00Z","revenue":"9.99","currency":"eur"}`,
	`{"event_type":"purchase","device_id":"d1","timestamp":"2025-10-21T14:00:00.123456789+02:00","revenue":" 1e2 ","currency":"JPY"}`,
	`{"event_type":"session","device_id":"d1","timestamp":1761056400000,"install_begin_ts":"1761056300","revenue":null,"currency":null}`,
	`{"event_type":"session","device_id":"d1","timestamp":1761056400.5,"install_begin_ts":1.7610564e9}`,
	`{"event_type":"session","device_id":"d1","timestamp":null,"install_begin_ts":null,"attribution":null,"event_data":null,"platform":null}`,
	`{"event_type":"session","device_id":"d1","user_agent":"Dalvik\/2.1.0 (Linux; U; Android 14; Pixel 8)","install_referrer":"a\"b\\c\/d\b\f\n\r\t\u00e9\u20ac\u0000\u001f"}`,
	`{"event_type":"sessión","device_id":"Ünïcødé 日本 😀","country":"�"}`,
	`{"event_type":"session","device_id":"d1","app_id":"app_other","ip":"::ffff:1.2.3.4","attribution":{"media_source":"net","campaign":"c"},"event_data":{"s":"}{\"][","a":[1,{"b":"}"},-0.5e-3,true,false,null],"n":{}}}`,
	`{"event_type":"session","device_id":"d1","extra":{"deep":[1,2,{"x":"y"}]},"zzz":"\ud800","Foo":1,"":[],"event_typo":"x","attribution":{}}`,
	" \n\t{ \"event_type\" :\r\n \"a\" , \"device_id\":\"d\"\n,\"event_data\" : { \"k\" : [ 1 , 2 ] } }\n ",
)

// fastDecodeSeeds are the seed bodies of FuzzFastDecodeMatchesReference.
func fastDecodeSeeds() []string {
	r := rand.New(rand.NewPCG(7, 8))
	var bench []string
	for _, e := range benchEvents(r, 4, 1761056400) {
		bench = append(bench, string(e))
	}
	seeds := []string{
		string(batchBody([]byte(loadgenEvents[0]), []byte(loadgenEvents[1]), []byte(loadgenEvents[2]))),
		"[" + strings.Join(loadgenEvents, ",") + "]",
		"[" + strings.Join(commonEvents, " , ") + "]",
		"{\"events\":[" + strings.Join(bench, ",\n") + "]}",
		// bodies
		`{"events":[]}`, `[]`, `[ ]`, `{"events":null}`, `{"events":{}}`, `{"events":1}`, `{}`, `null`, `[`, `]`, ``, ` `,
		`{"events":[{}]} x`, `[{}],`, `{"events":[{}]}}`, `[{}]]`, "[{}]\x00", "\u00a0[{}]", "\v[{}]\f", `{"events":[{}],"events":[{},{}]}`,
		`{"Events":[{}]}`, `{"EVENTS":[{}]}`, `{"eventſ":[{}]}`, `{"events":[{}],"app_id":"a","more":{"x":[1]}}`, `{"app_id":"a","events":[{"event_type":"x","device_id":"d"}]}`,
		`{"even\u0074s":[{}]}`, `{"events":[{}],"Events":[]}`, `{"events" : [ {} , {} ] }`, `[1,"x",null,true,false,[],{},-0,1e3]`,
		// escapes, unicode, surrogates
		`[{"event_type":"a\/b\"c\\d\n\t\b\f\r","device_id":"\u00e9\u0000\u20ac\uFFFF"}]`,
		`[{"event_type":"\ud83d\ude00","device_id":"\ud800"},{"event_type":"\udc00x","device_id":"\ud800\u0041"},{"event_type":"\ud800\ud800\udc00","device_id":"x"}]`,
		`[{"event_type":"a","device_id":"\x"}]`, `[{"event_type":"a","device_id":"\u12"}]`, `[{"event_type":"a","device_id":"\u12G4"}]`,
		"[{\"event_type\":\"a\",\"device_id\":\"\xff\"}]", "[{\"event_type\":\"a\",\"device_id\":\"\xc3(\"}]", "[{\"event_type\":\"a\",\"device_id\":\"\xc0\xaf\"}]",
		"[{\"event_type\":\"a\",\"device_id\":\"\xed\xa0\x80\"}]", "[{\"event_type\":\"a\",\"device_id\":\"\xef\xbf\xbd\"}]", "[{\"event_type\":\"a\tb\",\"device_id\":\"d\"}]",
		"[{\"event_type\":\"a\",\"x\xff\":1}]", "[{\"event_type\":\"a\",\"event_data\":{\"k\":\"\xff\"}}]",
		// keys
		`[{"Event_Type":"a","device_id":"d"}]`, `[{"EVENT_TYPE":"a"}]`, `[{"device_ID":"d"}]`, `[{"ſession_id":"s"}]`, `[{"event\u005ftype":"a"}]`,
		`[{"event_type":"a","event_type":"b"}]`, `[{"event_type":"a","event_type":null}]`, `[{"timestamp":1761056400,"timestamp":null}]`,
		`[{"event_type":"a","EVENT_TYPE":"b"}]`, `[{"revenue":1,"revenue":null,"currency":"USD"}]`, `[{"attribution":{"a":1},"attribution":null}]`,
		`[{"":1,"Foo":2,"fooBar":{"A":[]},"INSTALL_REFERRER_X":3}]`,
		// numbers
		`[{"timestamp":1e3},{"timestamp":-0},{"timestamp":0},{"timestamp":1761056400.5},{"timestamp":17610564000000000},{"timestamp":1e400},{"timestamp":-1}]`,
		`[{"timestamp":01}]`, `[{"timestamp":1.}]`, `[{"timestamp":.5}]`, `[{"timestamp":1.e3}]`, `[{"timestamp":1E+9},{"timestamp":1e-9},{"timestamp":9007199254740993}]`,
		`[{"timestamp":"1761056400"},{"timestamp":" 1761056400 "},{"timestamp":"soon"},{"timestamp":"2025-10-21T14:00:00Z"},{"timestamp":"2025-10-21T14:00:00.1+02:00"},{"timestamp":""}]`,
		`[{"timestamp":"1761056400\u0020"},{"timestamp":"2025-10-21T14:00:00\u005a"},{"timestamp":true},{"timestamp":[]},{"timestamp":{}}]`,
		`[{"revenue":4.99,"currency":"USD"},{"revenue":"9.99","currency":"x"},{"revenue":" 1 ","currency":"x"},{"revenue":"0x10","currency":"x"},{"revenue":"NaN","currency":"x"},{"revenue":"Inf","currency":"x"}]`,
		`[{"revenue":1e400,"currency":"x"},{"revenue":-0,"currency":"x"},{"revenue":true},{"revenue":{}},{"revenue":null},{"revenue":1},{"revenue":"1_0","currency":"x"},{"revenue":"\u0031","currency":"x"}]`,
		`[{"install_begin_ts":1761056400,"timestamp":1761056400123},{"install_begin_ts":"x"},{"install_begin_ts":null}]`,
		`[{"timestamp":"0001-01-01T00:00:00Z"},{"timestamp":1e16},{"timestamp":"1e16"},{"timestamp":253402300799},{"timestamp":253402300800},{"timestamp":253402300799999},{"timestamp":253402300800000}]`,
		`[{"timestamp":"9999-12-31T23:59:59.999999999Z"},{"timestamp":"1970-01-01T00:00:00Z"},{"timestamp":"1970-01-01T00:00:00.000001Z"},{"install_begin_ts":"0001-01-01T00:00:00Z"}]`,
		`[{"revenue":1e9,"currency":"USD"},{"revenue":1000000000.0000001,"currency":"USD"},{"revenue":-1e303,"currency":"USD"},{"revenue":4.9e-324,"currency":"USD"}]`,
		`[{"event_type":"\u0000","device_id":"d"},{"event_type":"a","device_id":"\u0085"},{"event_type":"a","device_id":"d","event_data":{"k":"\ud800"}},{"event_type":"a","user_id":"\\ud800"}]`,
		// types and checks
		`[{"event_type":1},{"device_id":true},{"attribution":[]},{"attribution":"x"},{"event_data":1},{"event_data":null},{"platform":{}},{"ip":null}]`,
		`[{"ip":"::1"},{"ip":"1.2.3.4:80"},{"ip":"not"},{"ip":""},{"ip":" 1.2.3.4"},{"revenue":1},{"revenue":1,"currency":""}]`,
		`[{"event_data":{"a":tru}},{"event_data":{"a":1,}},{"event_data":{"a" 1}},{"x":nul}]`,
		"[{\"event_type\":\"a\",\"device_id\":\"d\"}\n,\n{\"event_type\":\"b\"}\r\n]",
		"[" + strings.Repeat("[", 1200) + strings.Repeat("]", 1200) + "]",
		`[{"event_data":` + strings.Repeat(`{"a":`, 1100) + "1" + strings.Repeat("}", 1100) + `}]`,
		`[{"event_data":` + strings.Repeat(`[`, 900) + strings.Repeat("]", 900) + `}]`,
	}
	seeds = append(seeds, bench...)
	seeds = append(seeds, commonEvents...)
	// inputs for fuzzTemplates
	seeds = append(seeds, `[{"third_party_sharing":false},{"third_party_sharing":"false"},{"third_party_sharing":0}]`,
		`[{"Third_Party_Sharing":true}]`, `[{"third_party_sharing":true,"third_party_sharing":false}]`,
		`[{"third_party_sharing":null,"event_type":"e"}]`, `[{"third_party_sharing":truex}]`, `[{"third_party_sharing":tru}]`)
	return append(seeds, `true`, `false`, `fals`, `a\/b\u00e9\ud83d\ude00`, "Ünï 日本", `\ud800`, `1761056400.5`, `-0`, `1e3`, `2025-10-21T14:00:00Z`,
		`{"k":[1,"}"]}`, `Event_Type`, `timestamp`, `null`, `4.99`, `::1`)
}

// fuzzNow is the clock of the events validated in the fuzz tests.
var fuzzNow = time.Date(2025, 10, 21, 14, 20, 0, 0, time.UTC)

// fuzzTemplates are events where FuzzFastDecodeMatchesReference puts its input in place of
// each @: as the text of a string, a key, a number or a value. Most of the inputs make JSON
// there, which the fast path decodes itself, while most inputs are not JSON as bodies.
var fuzzTemplates = []string{
	`{"event_type":"@","device_id":"d","timestamp":1761056400}`,
	`{"device_id":"d","@":"v","event_type":"e"}`,
	`{"event_type":"e","device_id":"d","timestamp":@,"install_begin_ts":"@"}`,
	`{"event_type":"e","device_id":"d","revenue":@,"currency":"USD","ip":"@"}`,
	`{"event_type":"e","device_id":"d","revenue":"@","currency":"USD"}`,
	`{"event_type":"e","device_id":"d","event_data":@,"attribution":{"a":[@]}}`,
	`{"event_type":"e","device_id":"d","third_party_sharing":@}`,
}

// FuzzFastDecodeMatchesReference checks that for any body the fast decoder's outcome is the
// reference's (splitBatch and decodeEvent): for a batch, the error of the body, or else the
// raw bytes of every event and its decoding, as an error or as an event (also once validated
// and encoded into a log record); for the single endpoint, the decoding of the body. It
// checks the input as a body, and put in each of fuzzTemplates.
func FuzzFastDecodeMatchesReference(f *testing.F) {
	for _, s := range fastDecodeSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkBatchMatches(t, body)
		checkSingleMatches(t, body)
		for _, tmpl := range fuzzTemplates {
			event := bytes.ReplaceAll([]byte(tmpl), []byte("@"), body)
			checkBatchMatches(t, append(append([]byte("[{},"), event...), ']'))
			checkSingleMatches(t, event)
		}
	})
}

// checkBatchMatches checks the fast decoding of body as a batch against the reference and
// returns the number of the events that the fast path decoded itself, or -1 when it left
// the whole body to the reference.
func checkBatchMatches(t *testing.T, body []byte) int {
	t.Helper()
	raws, wantErr := splitBatch(body)
	eb := getEventBatch()
	defer eb.release()
	fast := eb.split(body)
	if !fast {
		if err := eb.splitBatch(body); !reflect.DeepEqual(err, wantErr) {
			t.Fatalf("split %q: %v, the reference %v", body, err, wantErr)
		}
	} else if wantErr != nil {
		t.Fatalf("split %q: no error, the reference %v", body, wantErr)
	}
	if wantErr != nil {
		return -1
	}
	if eb.len() != len(raws) {
		t.Fatalf("split %q: %d events, the reference %d", body, eb.len(), len(raws))
	}
	taken := 0
	for i, raw := range raws {
		if !bytes.Equal(eb.raw(i), raw) {
			t.Fatalf("split %q: event %d is %q, the reference's %q", body, i, eb.raw(i), raw)
		}
		if !eb.elems[i].byReference {
			taken++
		}
		var got, want unmogrowp.Event
		sameDecoding(t, fmt.Sprintf("event %d of the batch, %q", i, raw), eb.decode(i, &got), &got, decodeEvent(raw, &want), &want)
	}
	if !fast {
		return -1
	}
	return taken
}

// checkSingleMatches checks the fast decoding of body as one event against the reference
// and reports whether the fast path decoded it itself.
func checkSingleMatches(t *testing.T, body []byte) bool {
	t.Helper()
	eb := getEventBatch()
	defer eb.release()
	eb.single(body)
	if eb.len() != 1 || !bytes.Equal(eb.raw(0), body) {
		t.Fatalf("single %q: %d events", body, eb.len())
	}
	var got, want unmogrowp.Event
	sameDecoding(t, fmt.Sprintf("single %q", body), eb.decode(0, &got), &got, decodeEvent(body, &want), &want)
	return !eb.elems[0].byReference
}

// sameDecoding fails unless an event's decoding is the reference's: the same error, or the
// same event, which validates the same and makes the same log record.
func sameDecoding(t *testing.T, what string, err error, got *unmogrowp.Event, wantErr error, want *unmogrowp.Event) {
	t.Helper()
	if !reflect.DeepEqual(err, wantErr) {
		t.Fatalf("%s: error %v, the reference %v", what, err, wantErr)
	}
	if err != nil {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
	err, wantErr = got.Validate(fuzzNow, 30*24*time.Hour), want.Validate(fuzzNow, 30*24*time.Hour)
	if !reflect.DeepEqual(err, wantErr) {
		t.Fatalf("%s: validation error %v, the reference %v", what, err, wantErr)
	}
	if rec, wantRec := unmogrowp.EncodeEventRecord(nil, got), unmogrowp.EncodeEventRecord(nil, want); !bytes.Equal(rec, wantRec) {
		t.Fatalf("%s: record %x, the reference %x", what, rec, wantRec)
	}
}

func TestFastDecodeTakesCommonBodies(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(9, 10))
	bench := benchEvents(r, 100, 1761056400)
	var common [][]byte
	for _, s := range commonEvents {
		common = append(common, []byte(s))
	}
	joined := string(bytes.Join(common, []byte(",")))
	for _, tc := range []struct {
		name   string
		body   []byte
		events int
	}{
		{"bench", batchBody(bench...), len(bench)},
		{"common", batchBody(common...), len(common)},
		{"bare array", []byte("[\n  " + string(bytes.Join(common, []byte(",\n  "))) + "\n]\n"), len(common)},
		{"more keys", []byte(`{"app_id":"a","sent_at":1761056400,"events":` + "\t[" + joined + `],"sdk":{"v":"1.2"}}`), len(common)},
		{"empty", []byte(` {"events":[ ]} `), 0},
		{"1000 events", batchBody(benchEvents(r, unmogrowp.MaxBatchEvents, 1761056400)...), unmogrowp.MaxBatchEvents},
	} {
		if taken := checkBatchMatches(t, tc.body); taken != tc.events {
			t.Errorf("%s: the fast path decoded %d events of %d itself", tc.name, taken, tc.events)
		}
	}
	for _, e := range append(common, bench[:10]...) {
		if !checkSingleMatches(t, e) {
			t.Errorf("single %s: left to the reference", e)
		}
	}
}

func TestFastDecodeLeavesDoubtsToReference(t *testing.T) {
	t.Parallel()
	const ok = `{"event_type":"a","device_id":"d"}`
	big := `{"event_type":"a","device_id":"d","event_data":{"s":"` + strings.Repeat("x", unmogrowp.MaxEventBytes) + `"}}`
	for _, body := range []string{
		`[` + ok + `] x`, `[` + ok + `,]`, `[` + ok + "]\x00", "[" + ok + ",{\"x\":\"\xff\"}]", "[" + ok + ",{\"x\":\"\x01\"}]",
		`{"Events":[` + ok + `]}`, `{"events":null}`, `{"events":[],"events":[` + ok + `]}`, `{"app_id":"a"}`, `{"even\u0074s":[` + ok + `]}`,
		"[" + strings.TrimSuffix(strings.Repeat(ok+",", unmogrowp.MaxBatchEvents+1), ",") + "]",
		"[" + ok + "," + big + "]",
		`[` + ok + `,{"event_data":` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `}]`,
	} {
		if taken := checkBatchMatches(t, []byte(body)); taken != -1 {
			t.Errorf("%.80q: the fast path split the body", body)
		}
	}
	for _, event := range []string{
		`1`, `null`, `"x"`, `[]`,
		`{"Event_Type":"a","device_id":"d"}`, `{"event_type":"a","device_id":"d","event_type":"b"}`, `{"ſession_id":"s"}`,
		`{"event\u005ftype":"a"}`, `{"event_type":"\ud83d\ude00"}`, `{"event_type":1}`, `{"attribution":[]}`,
		`{"timestamp":"soon"}`, `{"timestamp":-1}`, `{"revenue":"x","currency":"USD"}`, `{"revenue":1}`, `{"ip":"1.2.3.4:80"}`,
	} {
		if taken := checkBatchMatches(t, []byte("["+ok+","+event+"]")); taken != 1 {
			t.Errorf("%s: the fast path decoded %d events of 2 itself", event, taken)
		}
		if checkSingleMatches(t, []byte(event)) {
			t.Errorf("single %s: decoded by the fast path", event)
		}
	}
}

// BenchmarkDecode measures the decoding alone of 100 realistic events (those of
// BenchmarkEventsHandler), by the reference (splitBatch and decodeEvent) and by the fast
// path: as one batch, and as 100 bodies of the single endpoint.
func BenchmarkDecode(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	events := benchEvents(r, 100, time.Now().Unix())
	body := batchBody(events...)
	for _, bc := range []struct {
		name   string
		decode func(e *unmogrowp.Event) error
	}{
		{"batch=100/reference", func(e *unmogrowp.Event) error {
			raws, err := splitBatch(body)
			for _, raw := range raws {
				if err == nil {
					err = decodeEvent(raw, e)
				}
			}
			return err
		}},
		{"batch=100/fast", func(e *unmogrowp.Event) error {
			eb := getEventBatch()
			defer eb.release()
			if !eb.split(body) {
				return fmt.Errorf("the fast path left the body to the reference")
			}
			return decodeAllFast(eb, e)
		}},
		{"single/reference", func(e *unmogrowp.Event) error {
			for _, event := range events {
				if err := decodeEvent(event, e); err != nil {
					return err
				}
			}
			return nil
		}},
		{"single/fast", func(e *unmogrowp.Event) error {
			eb := getEventBatch()
			defer eb.release()
			for _, event := range events {
				eb.single(event)
				if err := decodeAllFast(eb, e); err != nil {
					return err
				}
			}
			return nil
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			var e unmogrowp.Event
			for b.Loop() {
				if err := bc.decode(&e); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(events))/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/event")
		})
	}
}

// decodeAllFast decodes every event of eb into e, and fails for one the fast path left to
// the reference.
func decodeAllFast(eb *eventBatch, e *unmogrowp.Event) error {
	for i := range eb.len() {
		if eb.elems[i].byReference {
			return fmt.Errorf("the fast path left event %d to the reference", i)
		}
		if err := eb.decode(i, e); err != nil {
			return err
		}
	}
	return nil
}
