package storetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// base is the event time the fixtures count from: a whole number of microseconds, UTC.
var base = time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)

// at returns base plus d, truncated to the microsecond, which is the precision every store
// keeps.
func at(d time.Duration) time.Time { return base.Add(d).Truncate(time.Microsecond) }

// FullEvent returns an event with every field set, at log position (partition, offset).
// Strings differ per call through i, so that a store mixing up rows is caught.
func FullEvent(partition int32, offset int64, i int) unmogrowp.Event {
	return unmogrowp.Event{
		Partition:       partition,
		Offset:          offset,
		EventID:         fmt.Sprintf("evt-%06d", i),
		AppID:           "app-full",
		EventType:       "purchase",
		DeviceID:        fmt.Sprintf("device-%d", i),
		UserID:          fmt.Sprintf("user-%d", i),
		SessionID:       fmt.Sprintf("session-%d", i),
		Timestamp:       at(time.Duration(i)*time.Minute + 123456*time.Microsecond),
		ReceivedAt:      at(time.Duration(i)*time.Minute + 2*time.Second + 7*time.Microsecond),
		Platform:        unmogrowp.PlatformIOS,
		OSVersion:       "17.4.1",
		AppVersion:      "3.2.0",
		DeviceModel:     "iPhone15,2",
		Country:         "DE",
		Language:        "de-DE",
		IDFA:            "6D92078A-8246-4BA4-AE5B-76104861E7DC",
		GAID:            "38400000-8cf0-11bd-b23e-10b96e40000d",
		IDFV:            "599F9C00-92DC-4B5C-9464-7971F01F8370",
		AndroidID:       "9774d56d682e549c",
		ATTStatus:       "authorized",
		InstallReferrer: "utm_source=google-play&utm_medium=organic",
		InstallBeginAt:  at(time.Duration(i)*time.Minute - time.Hour + 999999*time.Microsecond),
		Revenue:         float64(i) + 0.99,
		HasRevenue:      true,
		Currency:        "EUR",
		IP:              "2001:db8::1",
		UserAgent:       "MyApp/3.2.0 (iPhone; iOS 17.4.1; Scale/3.00)",
		Attribution:     json.RawMessage(`{"media_source": "facebook", "campaign": "spring", "click_id": 12345}`),
		EventData:       json.RawMessage(fmt.Sprintf(`{"sku":"sku-%d","qty":2,"tags":["a","b"],"nested":{"x":1.5,"y":null,"z":true}}`, i)),
		MediaSource:     "facebook_ads",
		Campaign:        fmt.Sprintf("spring-%d", i),
	}
}

// MinimalEvent returns an event with only what ingestion always sets: log position, app,
// type, device, event time and receive time. Every other field is zero.
func MinimalEvent(partition int32, offset int64, app string, d time.Duration) unmogrowp.Event {
	return unmogrowp.Event{
		Partition:  partition,
		Offset:     offset,
		AppID:      app,
		EventType:  unmogrowp.EventSession,
		DeviceID:   "dev-min",
		Timestamp:  at(d),
		ReceivedAt: at(d + time.Second),
	}
}

// Normalize returns e as a store gives it back: times in UTC at microsecond precision,
// empty JSON as nil, Revenue zeroed when HasRevenue is false.
func Normalize(e unmogrowp.Event) unmogrowp.Event {
	e.Timestamp, e.ReceivedAt, e.InstallBeginAt = normTime(e.Timestamp), normTime(e.ReceivedAt), normTime(e.InstallBeginAt)
	if len(e.Attribution) == 0 {
		e.Attribution = nil
	}
	if len(e.EventData) == 0 {
		e.EventData = nil
	}
	if !e.HasRevenue {
		e.Revenue = 0
	}
	return e
}

// normTime returns t as a store gives it back: in UTC at microsecond precision, the zero
// time as it is.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// Diff describes how got differs from want, field by field, or returns "" when they are
// equal. Times compare with Equal and must be in UTC; Attribution and EventData compare as
// JSON values, so a store may re-serialise them (key order inside objects and whitespace
// may change, values may not).
func Diff(want, got unmogrowp.Event) string {
	return diffFields(Normalize(want), got)
}

// diffFields describes how got differs from want, two values of one struct type, field by
// field ("" when equal), going into embedded structs: times compare with Equal and must
// be in UTC, JSON documents compare as values, anything else with reflect.DeepEqual.
func diffFields[T any](want, got T) string {
	var diffs []string
	var walk func(wv, gv reflect.Value)
	walk = func(wv, gv reflect.Value) {
		for i := 0; i < wv.NumField(); i++ {
			field := wv.Type().Field(i)
			if field.Anonymous && field.Type.Kind() == reflect.Struct {
				walk(wv.Field(i), gv.Field(i))
				continue
			}
			name := field.Name
			w, g := wv.Field(i).Interface(), gv.Field(i).Interface()
			switch w := w.(type) {
			case time.Time:
				g := g.(time.Time)
				if !w.Equal(g) || (!g.IsZero() && g.Location() != time.UTC) {
					diffs = append(diffs, fmt.Sprintf("%s: got %v, want %v", name, g, w))
				}
			case json.RawMessage:
				if msg := jsonDiff(w, g.(json.RawMessage)); msg != "" {
					diffs = append(diffs, name+": "+msg)
				}
			default:
				if !reflect.DeepEqual(w, g) {
					diffs = append(diffs, fmt.Sprintf("%s: got %#v, want %#v", name, g, w))
				}
			}
		}
	}
	walk(reflect.ValueOf(want), reflect.ValueOf(got))
	return strings.Join(diffs, "; ")
}

// jsonDiff compares two JSON documents by value; nil and empty are the same (absent).
func jsonDiff(want, got json.RawMessage) string {
	if len(want) == 0 || len(got) == 0 {
		if len(want) != len(got) {
			return fmt.Sprintf("got %q, want %q", got, want)
		}
		return ""
	}
	var w, g any
	if err := unmarshal(want, &w); err != nil {
		return fmt.Sprintf("fixture is not JSON: %v", err)
	}
	if err := unmarshal(got, &g); err != nil {
		return fmt.Sprintf("got invalid JSON %q: %v", got, err)
	}
	if !reflect.DeepEqual(w, g) {
		return fmt.Sprintf("got %s, want %s", got, want)
	}
	return ""
}

// mustJSON marshals v for a fixture.
func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal fixture: %v", err)
	}
	return b
}

// unmarshal decodes JSON keeping numbers as their text (json.Number), so a store that turns
// 12345 into 12345.0 or loses digits is caught; the fixtures write numbers canonically.
func unmarshal(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}
