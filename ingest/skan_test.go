package ingest

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/unmogrowp/unmogrowp"
)

// appleExamples reads Apple's published example postbacks (skan/testdata).
func appleExamples(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	b, err := os.ReadFile("../skan/testdata/apple.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// skanLogged reads the SKAN records the log has so far.
func (f *fixture) skanLogged() []unmogrowp.SKANPostback {
	f.t.Helper()
	var out []unmogrowp.SKANPostback
	for _, r := range f.records() {
		var p unmogrowp.SKANPostback
		if err := unmogrowp.DecodeSKANRecord(r.Value, &p); err != nil {
			f.t.Fatalf("decode logged record: %v", err)
		}
		if r.Key != p.AppID {
			f.t.Fatalf("record keyed %q holds app %q", r.Key, p.AppID)
		}
		out = append(out, p)
	}
	return out
}

func (f *fixture) setStoreID(app *unmogrowp.App, id int64) {
	f.t.Helper()
	app.Settings.AppStoreID = id
	if err := f.meta.UpdateApp(context.Background(), app); err != nil {
		f.t.Fatal(err)
	}
	f.srv.ForgetApp(app.ID)
}

func (f *fixture) skanCount(kind, result string) float64 {
	return testutil.ToFloat64(f.srv.skanCount.WithLabelValues(kind, result))
}

const skanRoute = "/.well-known/skadnetwork/report-attribution/"
const aakRoute = "/.well-known/appattribution/report-attribution/"

// TestSKANAppleCopy: Apple's 4.0 example sent to the well-known route is logged as the
// app's (the one whose app_store_id it names), as Apple's copy, valid; an unknown app is
// answered 200 and counted, not logged; a body that is not JSON is 400; AdAttributionKit's
// example finds its app by advertised-item-identifier and is kept as development.
func TestSKANAppleCopy(t *testing.T) {
	f := newFixture(t, nil)
	ex := appleExamples(t)
	if r := f.do("POST", skanRoute, ex["4.0 web, fine value"]); r.Code != 200 || r.Body["status"] != "unknown_app" {
		t.Fatalf("unknown app: %d %s", r.Code, r.Raw)
	}
	if n := f.skanCount("skan", "unknown_app"); n != 1 {
		t.Fatalf("unknown_app counted %v", n)
	}
	f.setStoreID(f.app, 525463029)
	f.setStoreID(f.other, 10738027756)
	if r := f.do("POST", skanRoute, ex["4.0 web, fine value"]); r.Code != 200 || r.Body["status"] != "accepted" {
		t.Fatalf("Apple's example: %d %s", r.Code, r.Raw)
	}
	if r := f.do("POST", aakRoute, ex["AdAttributionKit, development key 1"]); r.Code != 200 {
		t.Fatalf("AdAttributionKit example: %d %s", r.Code, r.Raw)
	}
	tampered := strings.Replace(string(ex["3.0 winning"]), `"campaign-id":42`, `"campaign-id":43`, 1)
	if r := f.do("POST", skanRoute, []byte(tampered)); r.Code != 200 {
		t.Fatalf("tampered postback refused: %d %s", r.Code, r.Raw)
	}
	got := f.skanLogged()
	if len(got) != 3 {
		t.Fatalf("logged %d postbacks, want 3", len(got))
	}
	p := got[0]
	if p.AppID != f.app.ID || !p.FromApple || p.Signature != unmogrowp.SignatureValid || p.Kind != unmogrowp.SKANKindSKAN ||
		p.ConversionValue != 63 || p.TransactionID != "6aafb7a5-0170-41b5-bbe4-fe71dedf1e30" || !p.ReceivedAt.Equal(f.now) || len(p.ID) != 32 {
		t.Fatalf("logged 4.0 example: %+v", p)
	}
	if a := got[1]; a.AppID != f.other.ID || a.Kind != unmogrowp.SKANKindAAK || a.Environment != unmogrowp.EnvironmentDevelopment || a.Signature != unmogrowp.SignatureValid {
		t.Fatalf("logged AAK example: %+v", a)
	}
	if got[2].Signature != unmogrowp.SignatureInvalid {
		t.Fatalf("tampered postback logged as %s", got[2].Signature)
	}
	if f.skanCount("skan", "valid") != 1 || f.skanCount("aak", "valid") != 1 || f.skanCount("skan", "invalid") != 1 {
		t.Fatal("signature results not counted")
	}
	for _, body := range []string{"not json", "[1]", `"x"`} {
		if r := f.do("POST", skanRoute, []byte(body)); r.Code != 400 || r.Body["error"] == "" {
			t.Fatalf("%q: %d %s", body, r.Code, r.Raw)
		}
	}
	if r := f.do("POST", skanRoute+"below", ex["2.2"]); r.Code != 404 {
		t.Fatalf("a path below the route: %d", r.Code)
	}
	if len(f.skanLogged()) != 0 {
		t.Fatal("a refused postback was logged")
	}
}

// TestSKANForwarded: a network's batch with the server key is logged as the key's app's,
// not Apple's copy, every entry with its signature state; entries that are not objects are
// ignored; the SDK key is 403, no key 401, more than 1000 entries 413, a body that is not
// the batch object 400.
func TestSKANForwarded(t *testing.T) {
	f := newFixture(t, nil)
	ex := appleExamples(t)
	key := []string{"X-Api-Key", f.keys.ServerKey}
	body := `{"postbacks":[` + string(ex["3.0 winning"]) + `,` + string(ex["3.0 non-winning"]) + `,"junk",` + string(ex["AdAttributionKit, development key 1"]) + `]}`
	r := f.do("POST", "/v1/skan/postbacks", []byte(body), key...)
	if r.Code != 200 || r.Body["accepted"] != 3.0 || r.Body["ignored"] != 1.0 {
		t.Fatalf("forwarded batch: %d %s", r.Code, r.Raw)
	}
	got := f.skanLogged()
	if len(got) != 3 {
		t.Fatalf("logged %d, want 3", len(got))
	}
	for _, p := range got {
		if p.AppID != f.app.ID || p.FromApple || p.Signature != unmogrowp.SignatureValid {
			t.Fatalf("forwarded postback logged as %+v", p)
		}
	}
	if got[1].DidWin != 0 || got[0].DidWin != 1 {
		t.Fatal("did-win not kept")
	}
	many := `{"postbacks":[` + strings.Repeat(`{},`, MaxSKANBatch) + `{}]}`
	for _, tc := range []struct {
		body    string
		headers []string
		code    int
	}{
		{body, []string{"X-App-Key", f.app.SDKKey}, 403},
		{body, nil, 401},
		{many, key, 413},
		{`[1,2]`, key, 400},
		{`{"postbacks":{}}`, key, 400},
	} {
		if r := f.do("POST", "/v1/skan/postbacks", []byte(tc.body), tc.headers...); r.Code != tc.code || r.Body["error"] == "" {
			t.Errorf("%.30s with %v: %d %s, want %d", tc.body, tc.headers, r.Code, r.Raw, tc.code)
		}
	}
	if r := f.do("POST", "/v1/skan/postbacks", []byte(`{"postbacks":[]}`), key...); r.Code != 200 || r.Body["accepted"] != 0.0 {
		t.Fatalf("empty batch: %d %s", r.Code, r.Raw)
	}
}

// TestSKANLogDown: when the log cannot take a postback, the answer is 503 so that the
// device retries.
func TestSKANLogDown(t *testing.T) {
	f := newFixture(t, nil)
	f.setStoreID(f.app, 525463029)
	if err := f.log.Close(); err != nil {
		t.Fatal(err)
	}
	ex := appleExamples(t)
	if r := f.do("POST", skanRoute, ex["4.0 web, fine value"]); r.Code != 503 || r.Body["error"] == "" {
		t.Fatalf("log closed, well-known: %d %s", r.Code, r.Raw)
	}
	if r := f.do("POST", "/v1/skan/postbacks", []byte(`{"postbacks":[`+string(ex["2.2"])+`]}`), "X-Api-Key", f.keys.ServerKey); r.Code != 503 {
		t.Fatalf("log closed, forwarded: %d %s", r.Code, r.Raw)
	}
	if f.skanCount("skan", "valid") != 0 {
		t.Fatal("a postback not logged was counted")
	}
}

// FuzzSKANIntake: no body makes the well-known route answer anything but 200 or 400.
func FuzzSKANIntake(f *testing.F) {
	f.Add([]byte(`{"version":"4.0","app-id":525463029}`))
	f.Add([]byte(`{"jws-string":"a.b.c"}`))
	f.Add([]byte(`{"postbacks":[{}]}`))
	fx := newFixture(f, func(s *unmogrowp.AppSettings) { s.AppStoreID = 525463029 })
	f.Fuzz(func(t *testing.T, body []byte) {
		fx.t = t
		for _, path := range []string{skanRoute, aakRoute} {
			if r := fx.do("POST", path, body); r.Code != 200 && r.Code != 400 {
				t.Fatalf("%s %q: %d %s", path, body, r.Code, r.Raw)
			}
		}
		if r := fx.do("POST", "/v1/skan/postbacks", body, "X-Api-Key", fx.keys.ServerKey); r.Code != 200 && r.Code != 400 {
			t.Fatalf("forwarded %q: %d %s", body, r.Code, r.Raw)
		}
	})
}
