package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/unmogrowp/unmogrowp/opendsr"
)

const subjectRequestID = "a7551968-d5d6-44b2-9831-815ac9017798"

// opendsrErasure is an OpenDSR erasure request of a device.
func opendsrErasure(id, device string) string {
	return `{"subject_request_id":"` + id + `","subject_request_type":"erasure","submitted_time":"2026-03-01T10:00:00Z",
		"subject_identities":[{"identity_type":"unmogrowp_device_id","identity_value":"` + device + `","identity_format":"raw"}],
		"status_callback_urls":["https://controller.example/cb"]}`
}

// rawRequest makes a request and returns the status, the headers and the body as sent.
func rawRequest(t *testing.T, method, url, token, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func TestOpenDSRRequests(t *testing.T) {
	_, srv := tenancyServer(t)
	a := newTenant(t, srv, "alice@example.com")
	base := srv.URL + "/api/apps/" + a.appID + "/opendsr"

	code, disc := request(t, srv, "GET", "/api/apps/"+a.appID+"/opendsr/discovery", a.token, "")
	if code != 200 || disc["api_version"] != "1.0" || len(disc["supported_identities"].([]any)) != 12 ||
		len(disc["supported_subject_request_types"].([]any)) != 3 {
		t.Fatalf("discovery: %d %v", code, disc)
	}
	certURL, _ := disc["processor_certificate"].(string)
	code, _, cert := rawRequest(t, "GET", certURL, "", "")
	if code != 200 || !bytes.HasPrefix(cert, []byte("-----BEGIN CERTIFICATE-----")) {
		t.Fatalf("certificate at %s without a token: %d %q", certURL, code, cert)
	}
	verify := func(step string, h http.Header, body []byte) {
		t.Helper()
		if err := opendsr.Verify(cert, body, h.Get(opendsr.HeaderSignature)); err != nil {
			t.Errorf("%s: X-OpenDSR-Signature does not verify with the certificate: %v", step, err)
		}
	}

	code, h, first := rawRequest(t, "POST", base+"/requests", a.token, opendsrErasure(subjectRequestID, "dev-1"))
	var created map[string]any
	if err := json.Unmarshal(first, &created); err != nil || code != 201 || created["controller_id"] != a.appID ||
		created["subject_request_id"] != subjectRequestID || created["encoded_request"] == "" ||
		created["received_time"] == nil || created["expected_completion_time"] == nil {
		t.Fatalf("create: %d %s", code, first)
	}
	verify("create", h, first)
	// The same id again, even with another body: the same answer, no second request.
	code, _, again := rawRequest(t, "POST", base+"/requests", a.token, opendsrErasure(strings.ToUpper(subjectRequestID), "dev-2"))
	if code != 201 || !bytes.Equal(again, first) {
		t.Fatalf("repeat: %d %s, want the first answer %s", code, again, first)
	}

	code, h, body := rawRequest(t, "GET", base+"/requests/"+subjectRequestID, a.token, "")
	var st map[string]any
	if err := json.Unmarshal(body, &st); err != nil || code != 200 || st["request_status"] != "pending" ||
		st["controller_id"] != a.appID || st["expected_completion_time"] == nil {
		t.Fatalf("status: %d %s", code, body)
	}
	verify("status", h, body)
	if code, _, _ := rawRequest(t, "GET", base+"/requests/"+subjectRequestID+"/results", a.token, ""); code != 404 {
		t.Errorf("results of an erasure: %d, want 404", code)
	}

	code, h, body = rawRequest(t, "DELETE", base+"/requests/"+subjectRequestID, a.token, "")
	if code != 202 || !bytes.Contains(body, []byte(subjectRequestID)) {
		t.Fatalf("cancel: %d %s", code, body)
	}
	verify("cancel", h, body)
	if code, st := request(t, srv, "GET", "/api/apps/"+a.appID+"/opendsr/requests/"+subjectRequestID, a.token, ""); code != 200 || st["request_status"] != "cancelled" {
		t.Fatalf("status after cancel: %d %v", code, st)
	}
	if code, body := request(t, srv, "DELETE", "/api/apps/"+a.appID+"/opendsr/requests/"+subjectRequestID, a.token, ""); code != 409 || body["error"] == nil {
		t.Errorf("cancel again: %d %v, want 409", code, body)
	}
	if code, _ := request(t, srv, "GET", "/api/apps/"+a.appID+"/opendsr/requests/b7551968-d5d6-44b2-9831-815ac9017798", a.token, ""); code != 404 {
		t.Errorf("unknown request: %d, want 404", code)
	}

	// A bad request: 400 with the spec's error object.
	for name, tc := range map[string]struct{ body, message string }{
		"unsupported identity": {strings.Replace(opendsrErasure(subjectRequestID, "d"), "unmogrowp_device_id", "email", 1), "unsupported identity"},
		"no id":                {`{"subject_request_type":"erasure"}`, "subject_request_id field is required"},
		"not json":             {`[`, "JSON"},
	} {
		code, _, body := rawRequest(t, "POST", base+"/requests", a.token, tc.body)
		var e struct {
			Error struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
				Errors  []struct {
					Domain, Reason, Message string
				} `json:"errors"`
			} `json:"error"`
		}
		if err := json.Unmarshal(body, &e); err != nil || code != 400 || e.Error.Code != 400 ||
			!strings.Contains(e.Error.Message, tc.message) || len(e.Error.Errors) != 1 || e.Error.Errors[0].Reason == "" {
			t.Errorf("%s: %d %s, want 400 with the error object saying %q", name, code, body, tc.message)
		}
	}
}
