package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/unmogrowp/unmogrowp/internal/loadgen"
)

func TestBaselineHandler(t *testing.T) {
	srv := httptest.NewServer(baselineHandler())
	defer srv.Close()
	for _, tc := range []struct {
		path, body string
		code       int
	}{
		{"/v1/events/batch", `{"events":[{"event_type":"session","device_id":"d"},{"event_type":"install","device_id":"e"}]}`, 200},
		{"/v1/events/batch", `[{"event_type":"session","device_id":"d"}]`, 200},
		{"/v1/events", `{"event_type":"session","device_id":"d"}`, 200},
		{"/v1/events/batch", `{"events":[`, 400},
		{"/v1/events", `nope`, 400},
	} {
		resp, err := http.Post(srv.URL+tc.path, "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("%s %s: %d %s, want %d", tc.path, tc.body, resp.StatusCode, b, tc.code)
		}
		if tc.code == 200 && strings.TrimSpace(string(b)) != `{"status":"accepted"}` {
			t.Errorf("%s: answer %s", tc.path, b)
		}
	}
	// The load generator counts a batch the baseline acknowledged as all accepted.
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"loadgen", "--url", srv.URL, "--key", "ignored", "--batch", "50", "-c", "2",
		"-d", "100ms", "--mix", "events=100", "--devices", "100", "--json"}, &out, &errOut); err != nil {
		t.Fatalf("loadgen: %v\n%s", err, errOut.String())
	}
	var res loadgen.Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("loadgen printed %q: %v", out.String(), err)
	}
	if res.Requests == 0 || res.Events != 50*res.Requests || res.Errors != 0 {
		t.Errorf("requests %d events %d errors %d", res.Requests, res.Events, res.Errors)
	}
}
