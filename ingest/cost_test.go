package ingest

import (
	"net/url"
	"strings"
	"testing"

	"github.com/unmogrowp/unmogrowp"
)

// POST /v1/touchpoints takes the cost under its names and AppsFlyer's, and refuses a bad
// cost entry by entry, naming the field.
func TestTouchpointsCost(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	r := f.server("/v1/touchpoints", `{"touchpoints":[
		{"type":"click","media_source":"n","cost_model":"CPC","cost_value":0.25,"cost_currency":"eur"},
		{"type":"impression","media_source":"n","af_cost_model":"cpm","af_cost_value":"4.5"},
		{"type":"click","media_source":"n","cost_model":"cpi","cost_value":"2","af_cost_value":"9","af_cost_currency":"JPY"},
		{"type":"click","media_source":"n","cost_model":"cpa","cost_value":1},
		{"type":"click","media_source":"n","cost_model":"cpc"},
		{"type":"click","media_source":"n","cost_model":"cpc","cost_value":"cheap"},
		{"type":"click","media_source":"n","cost_model":"cpc","cost_value":true},
		{"type":"click","media_source":"n","cost_model":"cpc","cost_value":-1},
		{"type":"click","media_source":"n","cost_value":1},
		{"type":"click","media_source":"n","cost_model":"cpm","cost_value":1},
		{"type":"click","media_source":"n","cost_model":"cpc","cost_value":1,"cost_currency":"euro"}]}`)
	if r.Code != 200 || r.Body["accepted"] != 3.0 {
		t.Fatalf("%d %s", r.Code, r.Raw)
	}
	for i, want := range []string{
		"cost_model must be cpi, cpc or cpm", "cost_value is required with cost_model",
		"cost_value must be a number", "cost_value must be a number", "cost_value must be a number from 0",
		"cost_model is required", "cost_model cpm", "cost_currency must be",
	} {
		e := r.Body["errors"].([]any)[i].(map[string]any)
		if e["index"] != float64(i+3) || !strings.Contains(e["error"].(string), want) {
			t.Errorf("errors[%d] = %v, want index %d about %q", i, e, i+3, want)
		}
	}
	got := f.touchpoints()
	if len(got) != 3 {
		t.Fatalf("logged %d touchpoints", len(got))
	}
	for i, want := range []struct {
		model    string
		value    float64
		currency string
	}{{unmogrowp.CostCPC, 0.25, "EUR"}, {unmogrowp.CostCPM, 4.5, "USD"}, {unmogrowp.CostCPI, 2, "JPY"}} {
		if tp := got[i]; tp.CostModel != want.model || tp.CostValue != want.value || tp.CostCurrency != want.currency {
			t.Errorf("touchpoint %d cost = %q %v %q, want %+v", i, tp.CostModel, tp.CostValue, tp.CostCurrency, want)
		}
	}
}

// /c/ and /i/ record the cost of their query; an invalid one is dropped and the device
// sent on all the same.
func TestTrackingLinkCost(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	link := f.link(f.app, unmogrowp.Link{MediaSource: "n", WebURL: "https://example.com/"})
	for _, c := range []struct {
		path     string
		q        url.Values
		model    string
		value    float64
		currency string
	}{
		{"/c/", url.Values{"af_cost_model": {"cpc"}, "af_cost_value": {"0.4"}, "af_cost_currency": {"GBP"}}, "cpc", 0.4, "GBP"},
		{"/i/", url.Values{"cost_model": {"cpm"}, "cost_value": {"3"}}, "cpm", 3, "USD"},
		{"/c/", url.Values{"cost_model": {"cpi"}, "cost_value": {"1.5"}, "af_cost_model": {"cpc"}}, "cpi", 1.5, "USD"},
		{"/c/", url.Values{"cost_model": {"cpc"}, "cost_value": {"lots"}}, "", 0, ""},
		{"/c/", url.Values{"cost_model": {"cpm"}, "cost_value": {"1"}}, "", 0, ""},
		{"/i/", url.Values{"cost_value": {"1"}}, "", 0, ""},
		{"/c/", url.Values{"cost_model": {"cpc"}}, "", 0, ""},
	} {
		before := len(f.touchpoints())
		r := f.do("GET", c.path+link.ID+"?"+c.q.Encode(), nil)
		if want := map[string]int{"/c/": 302, "/i/": 200}[c.path]; r.Code != want {
			t.Fatalf("%s?%s: %d %s", c.path, c.q.Encode(), r.Code, r.Raw)
		}
		got := f.touchpoints()
		if len(got) != before+1 {
			t.Fatalf("%s?%s: logged %d touchpoints, want 1", c.path, c.q.Encode(), len(got)-before)
		}
		if tp := got[len(got)-1]; tp.CostModel != c.model || tp.CostValue != c.value || tp.CostCurrency != c.currency {
			t.Errorf("%s?%s: cost = %q %v %q, want %q %v %q", c.path, c.q.Encode(), tp.CostModel, tp.CostValue, tp.CostCurrency, c.model, c.value, c.currency)
		}
	}
}
