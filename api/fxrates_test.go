package api_test

import (
	"strings"
	"testing"

	"github.com/unmogrowp/unmogrowp/api"
)

// TestFXRates loads rates as an administrator (ADMIN_EMAILS, any case) and reads them as
// another signed-in user; anyone else's load is refused with 403 and changes nothing.
func TestFXRates(t *testing.T) {
	t.Parallel()
	meta, store := openStores(t)
	_, srv := apiServer(t, meta, store, api.Config{AdminEmails: []string{"Ops@Example.com"}})
	admin := newTenant(t, srv, "ops@example.com").token
	user := newTenant(t, srv, "user@example.com").token

	body := `{"date":"2024-01-02","base":"usd","rates":{"EUR":0.9125,"jpy":141.5}}`
	if code, got := request(t, srv, "PUT", "/api/fx-rates", user, body); code != 403 || !strings.Contains(got["error"].(string), "ADMIN_EMAILS") {
		t.Errorf("PUT by a user who is no admin: %d %v, want 403", code, got)
	}
	if code, _ := request(t, srv, "GET", "/api/fx-rates?date=2024-01-02", user, ""); code != 404 {
		t.Errorf("GET before any load: %d, want 404", code)
	}
	code, got := request(t, srv, "PUT", "/api/fx-rates", admin, body)
	if code != 200 || got["base"] != "USD" {
		t.Fatalf("PUT by an admin: %d %v, want 200 with the codes upper-cased", code, got)
	}
	code, got = request(t, srv, "GET", "/api/fx-rates?date=2024-01-02", user, "")
	rates, _ := got["rates"].(map[string]any)
	if code != 200 || got["date"] != "2024-01-02" || got["base"] != "USD" || rates["EUR"] != 0.9125 || rates["JPY"] != 141.5 || len(rates) != 2 {
		t.Errorf("GET: %d %v", code, got)
	}
	for _, c := range []struct{ body, field string }{
		{`{"date":"2024-13-02","base":"USD","rates":{"EUR":0.9}}`, "date"},
		{`{"date":"2024-01-02","base":"USDX","rates":{"EUR":0.9}}`, "base"},
		{`{"date":"2024-01-02","base":"USD","rates":{"EUR":0}}`, "rates.EUR"},
		{`{"date":"2024-01-02","base":"USD","rates":{"ABC":1}}`, "ABC"},
		{`{"date":"2024-01-02","base":"USD","rates":{"EUR":0.9},"extra":1}`, "extra"},
		{`[1]`, "JSON"},
	} {
		if code, got := request(t, srv, "PUT", "/api/fx-rates", admin, c.body); code != 400 || !strings.Contains(got["error"].(string), c.field) {
			t.Errorf("PUT %s: %d %v, want 400 naming %s", c.body, code, got, c.field)
		}
	}
	if code, got := request(t, srv, "GET", "/api/fx-rates", user, ""); code != 400 || !strings.Contains(got["error"].(string), "date") {
		t.Errorf("GET without date: %d %v, want 400 naming date", code, got)
	}
	if code, got := request(t, srv, "GET", "/api/fx-rates?date=2024-01-02", "", ""); code != 401 {
		t.Errorf("GET signed out: %d %v, want 401", code, got)
	}
}

// TestAppTimezone sets and refuses the timezone and reporting_currency settings.
func TestAppTimezone(t *testing.T) {
	t.Parallel()
	_, srv := tenancyServer(t)
	a := newTenant(t, srv, "tz@example.com")
	code, app := request(t, srv, "GET", "/api/apps/"+a.appID, a.token, "")
	if s := app["settings"].(map[string]any); code != 200 || s["timezone"] != "UTC" || s["reporting_currency"] != "USD" {
		t.Fatalf("defaults: %d %v, want timezone UTC and USD", code, app["settings"])
	}
	code, app = request(t, srv, "PATCH", "/api/apps/"+a.appID, a.token, `{"settings":{"timezone":"Asia/Tokyo","reporting_currency":"JPY"}}`)
	if s := app["settings"].(map[string]any); code != 200 || s["timezone"] != "Asia/Tokyo" || s["reporting_currency"] != "JPY" {
		t.Errorf("set: %d %v", code, app)
	}
	for body, field := range map[string]string{
		`{"settings":{"timezone":"Asia/Nowhere"}}`:     "settings.timezone",
		`{"settings":{"timezone":"Local"}}`:            "settings.timezone",
		`{"settings":{"timezone":"../../etc/passwd"}}`: "settings.timezone",
		`{"settings":{"reporting_currency":"ABC"}}`:    "settings.reporting_currency",
	} {
		if code, got := request(t, srv, "PATCH", "/api/apps/"+a.appID, a.token, body); code != 400 || !strings.Contains(got["error"].(string), field) {
			t.Errorf("PATCH %s: %d %v, want 400 naming %s", body, code, got, field)
		}
	}
}
