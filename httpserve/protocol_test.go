package httpserve

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"
)

// rawRequest sends raw bytes to addr over TCP and reads one answer.
func rawRequest(t *testing.T, addr, raw string) (*http.Response, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%q: no HTTP answer: %v", raw, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%q: reading the answer: %v", raw, err)
	}
	return resp, string(body)
}

// protocolErrorCases are raw requests that Go's HTTP server refuses before any handler
// runs, with the status each gets and a word of the error message.
var protocolErrorCases = []struct {
	Name, Raw string
	Code      int
	Mention   string
}{
	{"BadRequestLine", "GARBAGE\r\n\r\n", 400, "not valid HTTP"},
	{"BadHeaderLine", "GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", 400, "not valid HTTP"},
	{"NoHost", "GET / HTTP/1.1\r\n\r\n", 400, "missing required Host header"},
	{"BadHeaderName", "GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n", 400, "not valid HTTP"},
	{"HeadersTooLarge", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 80<<10) + "\r\n\r\n", 431, "headers are larger"},
	{"TransferEncoding", "POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "Transfer-Encoding"},
	{"Version", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "HTTP version"},
}

// TestJSONProtocolErrors sends malformed requests over TCP to a server on a listener
// wrapped by JSONProtocolErrors: each answer is JSON with the status net/http chose, and
// answers of handlers, text ones included, pass through untouched.
func TestJSONProtocolErrors(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/text" { // a handler's own text answer, shaped like net/http's
			w.Header().Set("Connection", "close")
			http.Error(w, "400 Bad Request", http.StatusBadRequest)
			return
		}
		JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	srv.Config.MaxHeaderBytes = 64 << 10
	srv.Listener = JSONProtocolErrors(srv.Listener)
	srv.Start()
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	for _, tc := range protocolErrorCases {
		t.Run(tc.Name, func(t *testing.T) {
			resp, body := rawRequest(t, addr, tc.Raw)
			checkProtocolError(t, resp, body, tc.Code, tc.Mention)
		})
	}
	t.Run("HandlersUntouched", func(t *testing.T) {
		resp, body := rawRequest(t, addr, "GET /text HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.StatusCode != 400 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || body != "400 Bad Request\n" {
			t.Errorf("a handler's text answer was changed: %d %v %q", resp.StatusCode, resp.Header, body)
		}
		resp, body = rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.StatusCode != 200 || body != "{\"status\":\"ok\"}\n" {
			t.Errorf("a good request: %d %q", resp.StatusCode, body)
		}
	})
}

// checkProtocolError fails the test unless the answer has the code and is JSON with an
// error sentence containing mention.
func checkProtocolError(t *testing.T, resp *http.Response, body string, code int, mention string) {
	t.Helper()
	var out map[string]string
	if resp.StatusCode != code || resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal([]byte(body), &out) != nil {
		t.Fatalf("answer %d %q %q, want %d with a JSON body", resp.StatusCode, resp.Header.Get("Content-Type"), body, code)
	}
	if !strings.Contains(out["error"], mention) || !strings.HasSuffix(out["error"], ".") {
		t.Errorf("error %q, want a sentence containing %q", out["error"], mention)
	}
}
