package opendsr

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

var received = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

const example = `{
  "subject_request_id": "A7551968-d5d6-44b2-9831-815ac9017798",
  "subject_request_type": "erasure",
  "submitted_time": "2018-10-02T15:00:00Z",
  "subject_identities": [
    {"identity_type": "android_advertising_id", "identity_value": "38400000-8cf0-11bd-b23e-10b96e40000d", "identity_format": "raw"},
    {"identity_type": "ios_advertising_id", "identity_value": "` + "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789" + `", "identity_format": "sha256"}
  ],
  "api_version": "1.0",
  "status_callback_urls": ["https://examplecontroller.com/opendsr_callbacks"],
  "extensions": {"example-processor.com": {"property_id": "123456"}}
}`

func TestDecodeRequest(t *testing.T) {
	r, err := DecodeRequest([]byte(example), "app-1", received)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != "a7551968-d5d6-44b2-9831-815ac9017798" || r.Type != unmogrowp.RequestErasure || r.Regulation != "gdpr" ||
		len(r.Identities) != 2 || r.Identities[1].Value != strings.ToLower(r.Identities[1].Value) ||
		!r.Submitted.Equal(time.Date(2018, 10, 2, 15, 0, 0, 0, time.UTC)) || len(r.CallbackURLs) != 1 {
		t.Fatalf("decoded %+v", r)
	}
	ts := r.Tombstones()
	if len(ts) != 2 || ts[0].Field != unmogrowp.FieldGAID || ts[0].Hash != unmogrowp.HashIdentity("38400000-8cf0-11bd-b23e-10b96e40000d") ||
		ts[1].Field != unmogrowp.FieldIDFA {
		t.Fatalf("tombstones %+v", ts)
	}
	for _, tt := range []struct{ name, body, reason, message string }{
		{"not json", `{`, "malformed_json", "JSON"},
		{"no id", `{"subject_request_type":"erasure"}`, "invalid_field", "subject_request_id field is required"},
		{"bad id", strings.Replace(example, "A7551968", "x", 1), "invalid_field", "subject_request_id must be a UUID"},
		{"bad type", strings.Replace(example, `"erasure"`, `"rectification"`, 1), "invalid_field", "subject_request_type"},
		{"no time", strings.Replace(example, `"submitted_time"`, `"x"`, 1), "invalid_field", "submitted_time field is required"},
		{"bad time", strings.Replace(example, `2018-10-02T15:00:00Z`, `yesterday`, 1), "invalid_field", "submitted_time must be"},
		{"unsupported", strings.Replace(example, `"android_advertising_id"`, `"email"`, 1), "unsupported_identity", `unsupported identity "email"`},
		{"bad format", strings.Replace(example, `"raw"`, `"md5"`, 1), "invalid_field", "identity_format"},
		{"bad hash", strings.Replace(example, "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789", "abc", 1), "invalid_field", "64 hex digits"},
		{"zeros", strings.Replace(example, "38400000-8cf0-11bd-b23e-10b96e40000d", "00000000-0000-0000-0000-000000000000", 1), "invalid_field", "all zeros"},
		{"regulation", strings.Replace(example, `"api_version"`, `"regulation":"lgpd","api_version"`, 1), "invalid_field", "regulation"},
		{"callback", strings.Replace(example, "https://examplecontroller.com", "ftp://x", 1), "invalid_field", "status_callback_urls[0]"},
		{"no identities", strings.Replace(example, `"subject_identities"`, `"x"`, 1), "invalid_field", "subject_identities field is required"},
		{"wrong type", `{"subject_request_id": 7}`, "invalid_field", "subject_request_id has the wrong type"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRequest([]byte(tt.body), "app-1", received)
			var br *BadRequest
			if !errors.As(err, &br) || br.Reason != tt.reason || !strings.Contains(br.Message, tt.message) {
				t.Fatalf("DecodeRequest = %v, want %s containing %q", err, tt.reason, tt.message)
			}
		})
	}
}

// FuzzDecodeRequest: any body decodes to a request that passes its own checks, or to a
// *BadRequest; never a panic, never another error.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(example))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"subject_identities":[{"identity_type":"unmogrowp_device_id","identity_value":"\u0000","identity_format":"raw"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeRequest(body, "app", received)
		if err != nil {
			var br *BadRequest
			if !errors.As(err, &br) || br.Message == "" {
				t.Fatalf("error %v is not a *BadRequest", err)
			}
			return
		}
		if !uuidPattern.MatchString(r.ID) || len(r.Identities) == 0 || len(r.Tombstones()) != len(r.Identities) {
			t.Fatalf("accepted %+v", r)
		}
	})
}
