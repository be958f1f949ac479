package ingest

import (
	"strings"
	"testing"

	"github.com/unmogrowp/unmogrowp"
)

// TestRefusedNotMended sends events that were once accepted by changing them (a year-1
// time taken as now, invalid UTF-8 stored as U+FFFD, a NUL as an event type) or that broke
// the reports (revenue 1e303), to the single endpoint and in a batch, where the fast
// decoder takes the event or leaves it to the reference: each is refused naming its field,
// and nothing is logged. Their neighbours that are valid are kept as sent.
func TestRefusedNotMended(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	for name, c := range map[string]struct{ fields, want string }{
		"revenue 1e303":            {`"revenue":1e303,"currency":"USD"`, "revenue must be a finite number from -1000000000 to 1000000000"},
		"revenue as a string":      {`"revenue":"-1e10","currency":"USD"`, "revenue must be a finite number"},
		"revenue just above 1e9":   {`"revenue":1000000000.0000001,"currency":"USD"`, "revenue must be a finite number"},
		"timestamp of year 1":      {`"timestamp":"0001-01-01T00:00:00Z"`, "timestamp is out of range"},
		"timestamp before 1970":    {`"timestamp":"1969-12-31T23:59:59Z"`, "timestamp is out of range"},
		"timestamp 1e16":           {`"timestamp":1e16`, "timestamp is out of range: a time must fall after 1970"},
		"timestamp 1e16 as text":   {`"timestamp":"10000000000000000"`, "timestamp is out of range"},
		"seconds past 9999":        {`"timestamp":253402300800`, "timestamp is out of range"},
		"install_begin_ts year 1":  {`"install_begin_ts":"0001-01-01T00:00:00Z"`, "install_begin_ts is out of range"},
		"device_id not UTF-8":      {"\"device_id\":\"d\xff\"", "device_id must be valid UTF-8"},
		"device_id lone surrogate": {`"device_id":"d\ud800"`, "device_id must be valid UTF-8"},
		"user_id low surrogate":    {`"user_id":"\udc00\ud800"`, "user_id must be valid UTF-8"},
		"event_data not UTF-8":     {"\"event_data\":{\"k\":\"\xc3(\"}", "event_data must be valid UTF-8"},
		"a key not UTF-8":          {"\"x\xff\":1", "Each event must be valid UTF-8 JSON"},
		"a NUL as event type":      {`"event_type":"\u0000"`, "event_type must not hold control characters"},
		"a newline in device_id":   {`"device_id":"a\nb"`, "device_id must not hold control characters"},
		"a C1 control in user_id":  {`"user_id":"\u0085"`, "user_id must not hold control characters"},
	} {
		t.Run(name, func(t *testing.T) {
			// Later keys win: the case's field overrides the defaults.
			event := `{"event_type":"purchase","device_id":"d",` + c.fields + `}`
			wantError(t, f.sdk("/v1/events", event), 400, c.want)
			r := f.sdk("/v1/events/batch", `{"events":[{"event_type":"session","device_id":"ok"},`+event+`]}`)
			errs, _ := r.Body["errors"].([]any)
			if r.Code != 200 || r.Body["accepted"] != 1.0 || len(errs) != 1 || !strings.Contains(errs[0].(map[string]any)["error"].(string), c.want) {
				t.Fatalf("batch: %d %s, want event 1 refused with %q", r.Code, r.Raw, c.want)
			}
			if got := f.logged(); len(got) != 1 || got[0].DeviceID != "ok" {
				t.Fatalf("logged %+v, want only the valid event of the batch", got)
			}
		})
	}
	// At the bounds and beside them: kept as sent.
	for _, c := range []struct{ fields, device string }{
		{`"revenue":1e9,"currency":"USD"`, "d"},
		{`"revenue":-1e9,"currency":"USD"`, "d"},
		{`"device_id":"\ud83d\ude00"`, "😀"},
		{`"device_id":"\ufffd"`, "\uFFFD"},
		{`"device_id":"appareil-é","event_data":{"k":"\ud800"}`, "appareil-é"},
		{`"device_id":"d","user_agent":"UA\twith tab"`, "d"},
	} {
		body := `{"event_type":"purchase","device_id":"d",` + c.fields + `}`
		if r := f.sdk("/v1/events", body); r.Code != 200 {
			t.Fatalf("%s: %d %s", body, r.Code, r.Raw)
		}
		if got := f.logged(); len(got) != 1 || got[0].DeviceID != c.device {
			t.Fatalf("%s: logged %+v", body, got)
		}
	}
}

// TestTouchpointsAndLinksRefuseText checks the same on touchpoints, tracking links and the
// attribution lookup: text that is not UTF-8, control characters and year-1 times are
// refused with 400 naming the field (404 for a link id no link can have).
func TestTouchpointsAndLinksRefuseText(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	r := f.server("/v1/touchpoints", "[{\"type\":\"click\",\"media_source\":\"x\",\"device_id\":\"\xff\"},"+
		`{"type":"click","media_source":"\u0000"},{"type":"click","media_source":"x","timestamp":"0001-01-01T00:00:00Z"},`+
		`{"type":"click","media_source":"x","campaign":"\udfff"},{"type":"click","media_source":"x"}]`)
	if r.Code != 200 || r.Body["accepted"] != 1.0 || r.Body["rejected"] != 4.0 {
		t.Fatalf("touchpoints: %d %s", r.Code, r.Raw)
	}
	for i, want := range []string{"device_id must be valid UTF-8", "media_source must not hold control characters",
		"timestamp is out of range", "campaign must be valid UTF-8"} {
		if e := r.Body["errors"].([]any)[i].(map[string]any); e["index"] != float64(i) || !strings.Contains(e["error"].(string), want) {
			t.Errorf("errors[%d] = %v, want %q", i, e, want)
		}
	}
	f.touchpoints()

	link := f.link(f.app, unmogrowp.Link{MediaSource: "net", WebURL: webURL})
	for path, want := range map[string]struct {
		code int
		text string
	}{
		"/c/" + link.ID + "?pid=%00":       {400, "media_source must not hold control characters"},
		"/c/" + link.ID + "?device_id=%FF": {400, "device_id must be valid UTF-8"},
		"/i/" + link.ID + "?sub1=a%0Ab":    {400, "sub1 must not hold control characters"},
		"/c/" + link.ID + "?c=%C3":         {400, "campaign must be valid UTF-8"},
		"/c/lk_%FF":                        {404, "Unknown tracking link"},
		"/v1/attribution?device_id=%FF":    {400, "device_id must be valid UTF-8"},
		"/v1/attribution?device_id=%00":    {400, "device_id must not hold control characters"},
	} {
		wantError(t, f.do("GET", path, nil, "User-Agent", uaIPhone, "X-App-Key", f.app.SDKKey), want.code, want.text)
	}
	// A user agent header that is not UTF-8 is the browser's: mended, the person sent on.
	if r := f.do("GET", "/c/"+link.ID, nil, "User-Agent", "Mozilla/5.0 \xff"); r.Code != 302 {
		t.Fatalf("click with a user agent of invalid UTF-8: %d %s", r.Code, r.Raw)
	}
	if got := f.touchpoints(); len(got) != 1 || got[0].UserAgent != "Mozilla/5.0 \uFFFD" {
		t.Fatalf("logged %+v", got)
	}
}
