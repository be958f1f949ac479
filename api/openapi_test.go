package api_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/unmogrowp/unmogrowp/api"
	"github.com/unmogrowp/unmogrowp/ingest"
)

// TestOpenAPIMatchesRoutes keeps the OpenAPI document true: it is a valid OpenAPI 3.1
// document (kin-openapi's validator), and its operations, each under the servers of its
// path (the API listener's port 3001, the ingestion listener's 8080), are exactly the
// routes each listener serves. A route added to a listener without its operation, or an
// operation of a route that is gone, fails.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatalf("load api/openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") || !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("api/openapi.json is not a valid OpenAPI 3.1 document:\n%v", err)
	}

	documented := map[string][]string{} // listener port → "METHOD /path"
	for path, item := range doc.Paths.Map() {
		servers := item.Servers
		if len(servers) == 0 {
			servers = doc.Servers
		}
		if len(servers) == 0 {
			t.Errorf("%s names no server: say which listener serves it", path)
		}
		for method := range item.Operations() {
			for _, s := range servers {
				u, err := url.Parse(s.URL)
				if err != nil {
					t.Fatalf("%s: server %q: %v", path, s.URL, err)
				}
				documented[u.Port()] = append(documented[u.Port()], method+" "+path)
			}
		}
	}

	// Sign-in with Google's routes exist only when it is configured: configure all of it.
	apiSrv := api.New(api.Config{Registry: prometheus.NewRegistry(), Google: &api.GoogleConfig{
		ClientID: "client", ClientSecret: "secret", RedirectURL: "https://dash.example.com/api/auth/google/callback",
	}})
	ingestSrv := ingest.New(ingest.Config{Registry: prometheus.NewRegistry()})
	for _, l := range []struct {
		name, port string
		routes     []string
	}{
		{"API listener", "3001", apiSrv.AllRoutePatterns()},
		{"ingestion listener", "8080", ingestSrv.RoutePatterns()},
	} {
		want, got := sorted(l.routes), sorted(documented[l.port])
		for _, r := range want {
			if !slices.Contains(got, r) {
				t.Errorf("%s serves %s, which api/openapi.json does not describe (under a server on port %s)", l.name, r, l.port)
			}
		}
		for _, r := range got {
			if !slices.Contains(want, r) {
				t.Errorf("api/openapi.json describes %s on the %s, which does not serve it", r, l.name)
			}
		}
		if len(want) < 5 {
			t.Errorf("%s lists %d routes: the route table is not read", l.name, len(want))
		}
	}
	for port := range documented {
		if port != "3001" && port != "8080" {
			t.Errorf("api/openapi.json has a server on port %q, which is neither listener's default", port)
		}
	}
}

// TestOpenAPIServed checks that GET /api/openapi.json answers the document without
// authentication, as JSON.
func TestOpenAPIServed(t *testing.T) {
	srv := httptest.NewServer(api.New(api.Config{Registry: prometheus.NewRegistry()}))
	defer srv.Close()
	res, err := http.Get(srv.URL + "/api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /api/openapi.json: %d %q, want 200 application/json; body %.200s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	if !bytes.Equal(body, api.OpenAPI) {
		t.Fatalf("GET /api/openapi.json answered %d bytes that are not the embedded document (%d bytes)", len(body), len(api.OpenAPI))
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
