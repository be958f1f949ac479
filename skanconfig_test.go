package unmogrowp

import (
	"strings"
	"testing"
)

const exampleSchema = `{"measurement_window_hours":48,
 "fine_grained_conversion_value_mappings":[
  {"fine_grained_conversion_value":63,"conversion_value_mapping":{"min_time_post_install_hours":0,"max_time_post_install_hours":24,
   "mapped_events":[{"mapped_event_name":"purchase","currency_code":"USD","event_revenue_range":{"min_event_revenue":5,"max_event_revenue":10}},
                    {"mapped_event_name":"level_up","event_occurrence_range":{"min_event_counter":1,"max_event_counter":3}},
                    {"mapped_event_name":"tip","currency_code":"USD","event_revenue_value":1.5}]}}],
 "postback_mappings":[{"postback_sequence_index":1,"coarse_grained_conversion_value_mappings":{
   "high_conversion_value_mapping":{"mapped_events":[{"mapped_event_name":"whale","currency_code":"EUR","event_revenue_value":100}]}}}]}`

func TestSKANSchemaDecode(t *testing.T) {
	var s SKANSchema
	if err := DecodeSKANJSON([]byte(exampleSchema), &s); err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	d := s.Mapping(0, 63, "").Decode()
	if strings.Join(d.Events, ",") != "purchase,level_up,tip" || *d.RevenueMin != 6.5 || *d.RevenueMax != 11.5 || d.Currency != "USD" {
		t.Fatalf("fine 63: %+v", d)
	}
	d = s.Mapping(1, Absent, "high").Decode()
	if strings.Join(d.Events, ",") != "whale" || *d.RevenueMin != 100 || d.Currency != "EUR" {
		t.Fatalf("coarse high of postback 1: %+v", d)
	}
	for _, m := range []*SKANValueMapping{s.Mapping(0, 5, ""), s.Mapping(0, Absent, "high"), s.Mapping(1, Absent, "low"), (*SKANSchema)(nil).Mapping(0, 63, "")} {
		if d := m.Decode(); len(d.Events) != 0 || d.RevenueMin != nil {
			t.Fatalf("unmapped value decoded: %+v", d)
		}
	}
}

func TestSKANSchemaValidate(t *testing.T) {
	for _, tc := range []struct{ body, field string }{
		{`{"measurement_window_hours":-1}`, "measurement_window_hours"},
		{`{"fine_grained_conversion_value_mappings":[{"fine_grained_conversion_value":64}]}`, "fine_grained_conversion_value_mappings[0].fine_grained_conversion_value"},
		{`{"fine_grained_conversion_value_mappings":[{"fine_grained_conversion_value":1},{"fine_grained_conversion_value":1}]}`, "fine_grained_conversion_value_mappings[1].fine_grained_conversion_value"},
		{`{"fine_grained_conversion_value_mappings":[{"fine_grained_conversion_value":1,"conversion_value_mapping":{"mapped_events":[{"mapped_event_name":""}]}}]}`, "mapped_events[0].mapped_event_name"},
		{`{"fine_grained_conversion_value_mappings":[{"fine_grained_conversion_value":1,"conversion_value_mapping":{"mapped_events":[{"mapped_event_name":"a","event_revenue_value":1}]}}]}`, "currency_code"},
		{`{"fine_grained_conversion_value_mappings":[{"fine_grained_conversion_value":1,"conversion_value_mapping":{"mapped_events":[{"mapped_event_name":"a","currency_code":"USD","event_revenue_range":{"min_event_revenue":5,"max_event_revenue":1}}]}}]}`, "event_revenue_range"},
		{`{"postback_mappings":[{"postback_sequence_index":3}]}`, "postback_mappings[0].postback_sequence_index"},
		{`{"postback_mappings":[{"postback_sequence_index":0,"coarse_grained_conversion_value_mappings":{"low_conversion_value_mapping":{"max_time_post_install_hours":1,"min_time_post_install_hours":2}}}]}`, "low_conversion_value_mapping.max_time_post_install_hours"},
		{`{"measurement_window_hours":"x"}`, "measurement_window_hours"},
		{`{"bogus":1}`, `"bogus"`},
	} {
		var s SKANSchema
		err := DecodeSKANJSON([]byte(tc.body), &s)
		if err == nil {
			err = s.Validate()
		}
		if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), tc.field) {
			t.Errorf("%s: %v, want EINVALID naming %s", tc.body, err, tc.field)
		}
	}
}

func TestSKANNetworks(t *testing.T) {
	var n SKANNetworks
	if err := DecodeSKANJSON([]byte(`{"networks":[{"ad_network_id":"example123.skadnetwork","media_source":"net_x","campaigns":{"42":"summer","5239":"summer/us/video","52":"summer/eu"}}]}`), &n); err != nil {
		t.Fatal(err)
	}
	if err := n.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ net, key, ms, campaign string }{
		{"example123.skadnetwork", "42", "net_x", "summer"},
		{"example123.skadnetwork", "5239", "net_x", "summer/us/video"},
		{"example123.skadnetwork", "5231", "net_x", "summer/eu"},
		{"example123.skadnetwork", "7", "net_x", "7"},
		{"other.skadnetwork", "42", "other.skadnetwork", "42"},
	} {
		if ms, c := n.Map(tc.net, tc.key); ms != tc.ms || c != tc.campaign {
			t.Errorf("Map(%s, %s) = %s, %s; want %s, %s", tc.net, tc.key, ms, c, tc.ms, tc.campaign)
		}
	}
	for _, tc := range []struct{ body, field string }{
		{`{"networks":[{"ad_network_id":"","media_source":"x"}]}`, "networks[0].ad_network_id"},
		{`{"networks":[{"ad_network_id":"a","media_source":"x"},{"ad_network_id":"a","media_source":"y"}]}`, "networks[1].ad_network_id"},
		{`{"networks":[{"ad_network_id":"a","media_source":""}]}`, "networks[0].media_source"},
		{`{"networks":[{"ad_network_id":"a","media_source":"x","campaigns":{"12345":"y"}}]}`, "networks[0].campaigns"},
		{`{"networks":[{"ad_network_id":"a","media_source":"x","campaigns":{"12":" "}}]}`, "networks[0].campaigns"},
		{`{"networks":{}}`, "networks"},
	} {
		var n SKANNetworks
		err := DecodeSKANJSON([]byte(tc.body), &n)
		if err == nil {
			err = n.Validate()
		}
		if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), tc.field) {
			t.Errorf("%s: %v, want EINVALID naming %s", tc.body, err, tc.field)
		}
	}
}

// FuzzSKANConfig: any body decodes or is EINVALID, and a valid schema decodes every value
// without panicking.
func FuzzSKANConfig(f *testing.F) {
	f.Add([]byte(exampleSchema))
	f.Add([]byte(`{"networks":[{"ad_network_id":"a","media_source":"x","campaigns":{"12":"y"}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s SKANSchema
		if err := DecodeSKANJSON(b, &s); err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatal(err)
			}
		} else if s.Validate() == nil {
			for v := int64(-1); v < 64; v++ {
				s.Mapping(v%3, v, "high").Decode()
			}
		}
		var n SKANNetworks
		if err := DecodeSKANJSON(b, &n); err == nil && n.Validate() == nil {
			n.Map("a", "1234")
		}
	})
}
