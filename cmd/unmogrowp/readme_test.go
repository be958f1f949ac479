package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestReadmeWalkthrough runs the README's commands as a newcomer would, taken from the
// README itself so that it cannot drift: the first command of "On a fresh machine" (serve,
// with the binary TestMain built, on loopback :0 listeners and a fresh data directory),
// then every command of "Send an event" in order, `go run ./cmd/unmogrowp` as the binary
// and curl as the same HTTP request. The placeholders (app_..., pk_..., sk_..., lk_...,
// ut_...) become what the earlier commands printed. Each command must succeed: the
// commands' flags exist, every request is answered below 400 with nothing rejected, the
// link's click URL redirects (302) to a store URL given to `apps create`, and the stats
// of the registered user's app count the install.
func TestReadmeWalkthrough(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	fresh := readmeCommands(t, readme, "On a fresh machine")
	if len(fresh) != 2 {
		t.Fatalf("the README's \"On a fresh machine\" has %d commands, want 2 (serve and the tests): %q", len(fresh), fresh)
	}
	serve := shellWords(t, fresh[0])
	args, ok := binaryArgs(serve)
	if !ok || len(args) == 0 || args[0] != "serve" {
		t.Fatalf("the README's first command is %q, want the binary's serve", fresh[0])
	}
	dataDir := t.TempDir()
	p := startProc(t, append(args, "--ingest-addr", "127.0.0.1:0", "--api-addr", "127.0.0.1:0"), []string{"UNMOGROWP_DATA_DIR=" + dataDir})
	ingestHost, apiHost := strings.TrimPrefix(p.ingest, "http://"), strings.TrimPrefix(p.api, "http://")

	// What the README writes, and what it stands for in this run.
	vals := map[string]string{"localhost:8080": ingestHost, "localhost:3001": apiHost}
	placeholders := []string{"app_...", "pk_...", "sk_...", "lk_...", "ut_..."}
	var storeURLs []string // given to apps create
	redirected, counted := false, false

	walk := readmeCommands(t, readme, "Send an event")
	for _, text := range walk {
		for _, ph := range placeholders {
			if strings.Contains(text, ph) && vals[ph] == "" {
				t.Fatalf("README command %q uses %s before a command printed it", text, ph)
			}
		}
		for k, v := range vals {
			text = strings.ReplaceAll(text, k, v)
		}
		words := shellWords(t, text)
		if args, ok := binaryArgs(words); ok {
			cmd := exec.Command(binPath, args...)
			cmd.Env = append(os.Environ(), "UNMOGROWP_DATA_DIR="+dataDir, "INGEST_ADDR="+ingestHost)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("README command %q: %v\n%s%s", text, err, out, stderr.Bytes())
			}
			for i, a := range args {
				if strings.HasSuffix(a, "-url") && strings.HasPrefix(a, "--") && i+1 < len(args) {
					storeURLs = append(storeURLs, args[i+1])
				}
			}
			t.Logf("$ %s\n%s", text, out)
			printed := cliFields(out)
			for field, ph := range map[string]string{"app_id": "app_...", "sdk_key": "pk_...", "server_key": "sk_...", "link_id": "lk_..."} {
				if v := printed[field]; v != "" {
					vals[ph] = v
				}
			}
			if id := printed["link_id"]; id != "" && printed["click_url"] != p.ingest+"/c/"+id {
				t.Fatalf("links create printed click_url %q, want serve's ingestion URL %s/c/%s", printed["click_url"], p.ingest, id)
			}
			continue
		}
		if len(words) == 0 || words[0] != "curl" {
			t.Fatalf("README command %q: the test runs only the binary and curl", text)
		}
		req := curlRequest(t, words[1:])
		deadline := time.Now().Add(60 * time.Second)
		for {
			status, header, body := do(t, req)
			done := status < 400
			if strings.HasSuffix(req.URL.Path, "/api/dashboard/stats") && status == 200 {
				var stats struct{ Installs int }
				json.Unmarshal(body, &stats)
				done, counted = stats.Installs > 0, stats.Installs > 0
			}
			// A GET of results may answer 404, or no install yet, until the pipeline has the
			// install: ask again, as a reader of the README would.
			if !done && req.Method == http.MethodGet && !strings.HasPrefix(req.URL.Path, "/c/") && time.Now().Before(deadline) {
				time.Sleep(200 * time.Millisecond)
				continue
			}
			if !done {
				t.Fatalf("README command %q: %d %s", text, status, body)
			}
			t.Logf("$ %s\n%d %s%s", text, status, header.Get("Location"), body)
			var answer map[string]any
			json.Unmarshal(body, &answer)
			if n, _ := answer["rejected"].(float64); n != 0 {
				t.Fatalf("README command %q: %v rejected: %s", text, n, body)
			}
			if token, _ := answer["token"].(string); token != "" {
				vals["ut_..."] = token
			}
			if strings.HasPrefix(req.URL.Path, "/c/") {
				loc := header.Get("Location")
				if status != http.StatusFound || !hasAnyPrefix(loc, storeURLs) {
					t.Fatalf("README command %q: %d Location %q, want 302 to one of %q", text, status, loc, storeURLs)
				}
				redirected = true
			}
			break
		}
	}
	if !redirected || !counted {
		t.Fatalf("the README's walk-through redirected a click: %v; showed the install in the stats: %v; want both", redirected, counted)
	}
}

// readmeCommands returns the shell commands of the ```sh blocks in the README's section
// with the heading title (up to the next heading of its level): one per command, lines
// joined by a trailing backslash kept, comment lines left out.
func readmeCommands(t *testing.T, readme []byte, title string) []string {
	t.Helper()
	var cmds []string
	in, block := false, false
	pending := ""
	sc := bufio.NewScanner(bytes.NewReader(readme))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			in = line == "## "+title
		case !in:
		case strings.HasPrefix(line, "```"):
			block = !block && line == "```sh"
		case block && pending == "" && (strings.HasPrefix(line, "#") || strings.TrimSpace(line) == ""):
		case block:
			pending += line
			if strings.HasSuffix(line, `\`) {
				pending += "\n"
				continue
			}
			cmds = append(cmds, pending)
			pending = ""
		}
	}
	if len(cmds) == 0 {
		t.Fatalf("no commands in the README's section %q", title)
	}
	return cmds
}

// shellWords splits a command line into words as sh does: the shell itself reads it.
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	out, err := exec.Command("sh", "-c", `printf '%s\0' `+line).Output()
	if err != nil {
		t.Fatalf("sh cannot read %q: %v", line, err)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
}

// binaryArgs returns the arguments of a command that runs the binary as the README does
// (go run ./cmd/unmogrowp, or ./unmogrowp once built).
func binaryArgs(words []string) ([]string, bool) {
	switch {
	case len(words) >= 3 && words[0] == "go" && words[1] == "run" && words[2] == "./cmd/unmogrowp":
		return words[3:], true
	case len(words) >= 1 && words[0] == "./unmogrowp":
		return words[1:], true
	}
	return nil, false
}

var cliField = regexp.MustCompile(`(?m)^([a-z_]+): +(\S+)$`)

// cliFields returns the "name: value" lines the apps and links commands print.
func cliFields(out []byte) map[string]string {
	m := map[string]string{}
	for _, f := range cliField.FindAllSubmatch(out, -1) {
		m[string(f[1])] = string(f[2])
	}
	return m
}

// curlRequest is the request that curl makes with args, for the options the README uses
// (-s, -S, -i, -H, -d, -A, -X): anything else fails the test, to be added here.
func curlRequest(t *testing.T, args []string) *http.Request {
	t.Helper()
	method, target, body := "", "", ""
	header := http.Header{"User-Agent": {"curl/8"}}
	hasBody := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		value := func() string {
			if i+1 >= len(args) {
				t.Fatalf("curl %q: %s without a value", args, a)
			}
			i++
			return args[i]
		}
		switch {
		case a == "-s" || a == "-S" || a == "-i" || a == "--silent" || a == "--include" || regexp.MustCompile(`^-[sSi]+$`).MatchString(a):
			// output options only
		case a == "-H" || a == "--header":
			k, v, ok := strings.Cut(value(), ":")
			if !ok {
				t.Fatalf("curl %q: header without a colon", args)
			}
			header.Set(k, strings.TrimSpace(v))
		case a == "-d" || a == "--data":
			body, hasBody = value(), true
		case a == "-A" || a == "--user-agent":
			header.Set("User-Agent", value())
		case a == "-X" || a == "--request":
			method = value()
		case strings.HasPrefix(a, "-"):
			t.Fatalf("curl %q: option %s is not one the test knows", args, a)
		default:
			target = a
		}
	}
	if hasBody {
		if method == "" {
			method = http.MethodPost
		}
		if header.Get("Content-Type") == "" {
			header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if method == "" {
		method = http.MethodGet
	}
	if !strings.Contains(target, "://") {
		target = "http://" + target
	}
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatalf("curl %q: %v", args, err)
	}
	req.Header = header
	return req
}

// do sends a request as curl does, without following redirects.
func do(t *testing.T, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if req.GetBody != nil {
		req.Body, _ = req.GetBody()
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if p != "" && strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
