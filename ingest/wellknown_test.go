package ingest

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"github.com/unmogrowp/unmogrowp"
)

const (
	fpA = "14:6D:E9:83:C5:73:06:50:D8:EE:B9:95:2F:34:FC:64:16:A0:83:42:E6:1D:BE:A8:8A:04:96:B2:3F:CF:44:E5"
	fpB = "fa:c6:17:45:dc:09:03:78:6f:b9:ed:e6:2a:96:2b:39:9f:73:48:f0:bb:6f:89:9b:83:32:66:75:91:03:3b:9c"
)

// The formats Apple and Google document for the association files: an application
// identifier is "<team id>.<bundle id>" with Apple's 10-character team id; an Android
// package has two or more segments; a certificate fingerprint is the SHA-256 digest as 32
// colon-separated upper-case hex bytes (what keytool prints, and what the Digital Asset
// Links verifier compares).
var (
	appleAppID       = regexp.MustCompile(`^[A-Z0-9]{10}\.[A-Za-z0-9.-]+$`)
	androidPackage   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$`)
	certFingerprint  = regexp.MustCompile(`^[0-9A-F]{2}(:[0-9A-F]{2}){31}$`)
	maxAppleFileSize = 128 << 10 // Apple's limit for apple-app-site-association, uncompressed
)

// checkAppleAssociation decodes apple-app-site-association strictly in the applinks format
// Apple documents (details of appIDs and components, each component a "/" path pattern)
// and returns its application ids and components.
func checkAppleAssociation(t *testing.T, body []byte) (ids []string, components []map[string]string) {
	t.Helper()
	if len(body) > maxAppleFileSize {
		t.Fatalf("apple-app-site-association is %d bytes, over Apple's 128 KB", len(body))
	}
	var doc struct {
		Applinks *struct {
			Details []struct {
				AppIDs     []string            `json:"appIDs"`
				Components []map[string]string `json:"components"`
			} `json:"details"`
		} `json:"applinks"`
	}
	d := json.NewDecoder(strings.NewReader(string(body)))
	d.DisallowUnknownFields()
	if err := d.Decode(&doc); err != nil || doc.Applinks == nil || doc.Applinks.Details == nil {
		t.Fatalf("apple-app-site-association %s: %v, want {\"applinks\":{\"details\":[...]}}", body, err)
	}
	for _, det := range doc.Applinks.Details {
		if len(det.AppIDs) == 0 || len(det.Components) == 0 {
			t.Fatalf("a detail without appIDs or components: %s", body)
		}
		for _, id := range det.AppIDs {
			if !appleAppID.MatchString(id) {
				t.Errorf("appID %q is not <team id>.<bundle id>", id)
			}
		}
		for _, c := range det.Components {
			if p, ok := c["/"]; !ok || !strings.HasPrefix(p, "/") || len(c) != 1 {
				t.Errorf("component %v is not a path pattern", c)
			}
		}
		ids = append(ids, det.AppIDs...)
		components = append(components, det.Components...)
	}
	return ids, components
}

// checkAssetLinks decodes assetlinks.json strictly as the statement list Google documents
// for App Links and returns the package names with their fingerprints.
func checkAssetLinks(t *testing.T, body []byte) map[string][]string {
	t.Helper()
	var statements []struct {
		Relation []string `json:"relation"`
		Target   struct {
			Namespace    string   `json:"namespace"`
			PackageName  string   `json:"package_name"`
			Fingerprints []string `json:"sha256_cert_fingerprints"`
		} `json:"target"`
	}
	d := json.NewDecoder(strings.NewReader(string(body)))
	d.DisallowUnknownFields()
	if err := d.Decode(&statements); err != nil || statements == nil {
		t.Fatalf("assetlinks.json %s: %v, want a JSON array of statements", body, err)
	}
	out := map[string][]string{}
	for _, st := range statements {
		if !slices.Equal(st.Relation, []string{"delegate_permission/common.handle_all_urls"}) || st.Target.Namespace != "android_app" {
			t.Errorf("statement %+v: not an App Links statement", st)
		}
		if !androidPackage.MatchString(st.Target.PackageName) || len(st.Target.Fingerprints) == 0 {
			t.Errorf("statement %+v: bad package or no fingerprint", st)
		}
		for _, f := range st.Target.Fingerprints {
			if !certFingerprint.MatchString(f) {
				t.Errorf("fingerprint %q is not 32 upper-case hex bytes", f)
			}
		}
		out[st.Target.PackageName] = append(out[st.Target.PackageName], st.Target.Fingerprints...)
	}
	return out
}

// TestAssociationFiles serves both files for apps with and without the settings: every
// app with them is listed, in the formats the platforms document, as application/json
// with 200 (never a redirect), and a change made through the API shows at once.
func TestAssociationFiles(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	mk := func(name, bundle string, change func(*unmogrowp.AppSettings)) *unmogrowp.App {
		app := &unmogrowp.App{Name: name, BundleID: bundle, Settings: unmogrowp.DefaultAppSettings()}
		change(&app.Settings)
		if _, err := f.meta.CreateApp(ctx, app); err != nil {
			t.Fatal(err)
		}
		return app
	}
	// Before any app has the settings: valid, empty files.
	for _, p := range []string{appleAssociationPath, assetLinksPath} {
		r := f.do("GET", p, nil)
		if r.Code != 200 || r.Head.Get("Content-Type") != "application/json" {
			t.Fatalf("GET %s: %d %v", p, r.Code, r.Head)
		}
	}
	if r := f.do("GET", appleAssociationPath, nil); r.Raw != `{"applinks":{"details":[]}}` {
		t.Errorf("empty apple-app-site-association: %s", r.Raw)
	}
	if r := f.do("GET", assetLinksPath, nil); r.Raw != `[]` {
		t.Errorf("empty assetlinks.json: %s", r.Raw)
	}

	mk("Both", "com.example.both", func(s *unmogrowp.AppSettings) {
		s.IOSTeamID, s.AndroidPackage, s.AndroidSHA256Fingerprints = "ABCDE12345", "com.example.both", []string{fpA, fpB}
	})
	mk("Own iOS bundle", "com.example.ignored", func(s *unmogrowp.AppSettings) {
		s.IOSTeamID, s.IOSBundleID = "ZYXWV98765", "com.example.ios-game"
	})
	mk("Team without bundle", "", func(s *unmogrowp.AppSettings) { s.IOSTeamID = "ABCDE12345" })
	mk("Package without fingerprint", "com.example.nofp", func(s *unmogrowp.AppSettings) { s.AndroidPackage = "com.example.nofp" })
	mk("Android only", "", func(s *unmogrowp.AppSettings) {
		s.AndroidPackage, s.AndroidSHA256Fingerprints = "org.example.game_two", []string{fpB}
	})
	f.srv.ForgetApp("") // as the API does on a change; within the cache's TTL otherwise

	r := f.do("GET", appleAssociationPath, nil)
	if r.Code != 200 || r.Head.Get("Content-Type") != "application/json" || r.Head.Get("Location") != "" {
		t.Fatalf("apple-app-site-association: %d %v", r.Code, r.Head)
	}
	ids, components := checkAppleAssociation(t, []byte(r.Raw))
	if want := []string{"ABCDE12345.com.example.both", "ZYXWV98765.com.example.ios-game"}; !slices.Equal(ids, want) {
		t.Errorf("appIDs %v, want %v", ids, want)
	}
	if len(components) != 1 || components[0]["/"] != "/c/*" {
		t.Errorf("components %v, want the /c/ URLs", components)
	}

	r = f.do("GET", assetLinksPath, nil)
	if r.Code != 200 || r.Head.Get("Content-Type") != "application/json" {
		t.Fatalf("assetlinks.json: %d %v", r.Code, r.Head)
	}
	got := checkAssetLinks(t, []byte(r.Raw))
	want := map[string][]string{"com.example.both": {fpA, strings.ToUpper(fpB)}, "org.example.game_two": {strings.ToUpper(fpB)}}
	if len(got) != len(want) || !slices.Equal(got["com.example.both"], want["com.example.both"]) || !slices.Equal(got["org.example.game_two"], want["org.example.game_two"]) {
		t.Errorf("assetlinks.json lists %v, want %v", got, want)
	}

	// HEAD answers the same headers; another method is not a route (the listener's JSON 404).
	if r := f.do("HEAD", assetLinksPath, nil); r.Code != 200 || r.Raw != "" || r.Head.Get("Content-Type") != "application/json" {
		t.Errorf("HEAD: %d %v %q", r.Code, r.Head, r.Raw)
	}
	if r := f.do("POST", appleAssociationPath, nil); r.Code != 404 {
		t.Errorf("POST: %d, want 404", r.Code)
	}

	// Without ForgetApp, a change shows once the cache's time is over.
	mk("Late", "com.example.late", func(s *unmogrowp.AppSettings) { s.IOSTeamID = "LATE123456" })
	if ids, _ := checkAppleAssociation(t, []byte(f.do("GET", appleAssociationPath, nil).Raw)); len(ids) != 2 {
		t.Errorf("within the cache's time: %v", ids)
	}
	f.now = f.now.Add(5 * time.Second)
	if ids, _ := checkAppleAssociation(t, []byte(f.do("GET", appleAssociationPath, nil).Raw)); len(ids) != 3 || ids[2] != "LATE123456.com.example.late" {
		t.Errorf("after the cache's time: %v", ids)
	}
}
