package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/unmogrowp/unmogrowp"
)

// TestLinks runs the links scenario (runLinkScenario) on `unmogrowp serve`.
func TestLinks(t *testing.T) {
	t.Parallel()
	d := newEmbedded(t)
	runLinkScenario(t, d, d.start)
}

// TestSplitLinks runs it on the split deployment, where the API, the ingestion listeners
// and the consumers are separate processes on PostgreSQL, Kafka, Redis and ClickHouse.
func TestSplitLinks(t *testing.T) {
	t.Parallel()
	d := newSplit(t)
	runLinkScenario(t, d, d.start)
}

// runLinkScenario plays what a marketer's links must do through the binary's HTTP interface: a
// QR code that scans to the click URL, the association files that let iOS and Android
// open the app, an app opened by a link reported with POST /v1/deeplinks and attributed
// to it, a link's own click window deciding an install the app's would not, the web
// fallback carrying click_id, and a deleted link answering 404.
func runLinkScenario(t *testing.T, d deployment, start func(*testing.T)) {
	const fingerprint = "14:6D:E9:83:C5:73:06:50:D8:EE:B9:95:2F:34:FC:64:16:A0:83:42:E6:1D:BE:A8:8A:04:96:B2:3F:CF:44:E5"
	app := d.createApp(t, "Links")
	setSettings(t, d, app.ID, func(s *unmogrowp.AppSettings) {
		s.IOSTeamID, s.IOSBundleID = "ABCDE12345", "com.example.links"
		s.AndroidPackage, s.AndroidSHA256Fingerprints = "com.example.links", []string{fingerprint}
	})
	start(t)
	server := map[string]string{"X-Api-Key": app.ServerKey}

	type link struct {
		ID       string `json:"id"`
		ClickURL string `json:"click_url"`
	}
	newLink := func(fields map[string]any) link {
		t.Helper()
		code, resp, _ := call(t, "POST", d.apiURL()+"/api/apps/"+app.ID+"/links", server, fields)
		var l link
		if err := json.Unmarshal(resp, &l); code != 201 || err != nil || l.ClickURL == "" {
			t.Fatalf("create link: %d %s", code, resp)
		}
		return l
	}
	podcast := newLink(map[string]any{"media_source": "podcast", "campaign": "spring", "deep_link_value": "promo/spring",
		"web_url": "https://links.example/landing?lang=en", "click_lookback_days": 30})
	flash := newLink(map[string]any{"media_source": "flash", "click_lookback_days": 1})

	// The QR code scans to exactly the click URL.
	code, img, hdr := call(t, "GET", d.apiURL()+"/api/apps/"+app.ID+"/links/"+podcast.ID+"/qr?size=300", server, nil)
	if code != 200 || hdr.Get("Content-Type") != "image/png" {
		t.Fatalf("QR code: %d %s %q", code, hdr.Get("Content-Type"), img[:min(len(img), 100)])
	}
	decoded, err := png.Decode(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	bmp, _ := gozxing.NewBinaryBitmapFromImage(decoded)
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil || res.GetText() != podcast.ClickURL {
		t.Fatalf("QR code decodes to %v (%v), want %s", res, err, podcast.ClickURL)
	}

	// The association files, as application/json without a redirect.
	for path, want := range map[string]string{
		"/.well-known/apple-app-site-association": `{"applinks":{"details":[{"appIDs":["ABCDE12345.com.example.links"],"components":[{"/":"/c/*"}]}]}}`,
		"/.well-known/assetlinks.json": `[{"relation":["delegate_permission/common.handle_all_urls"],"target":{"namespace":"android_app",` +
			`"package_name":"com.example.links","sha256_cert_fingerprints":["` + fingerprint + `"]}}]`,
	} {
		code, body, hdr := call(t, "GET", d.ingestURL()+path, nil, nil)
		if code != 200 || hdr.Get("Content-Type") != "application/json" || string(body) != want {
			t.Errorf("GET %s: %d %s %s, want %s", path, code, hdr.Get("Content-Type"), body, want)
		}
	}

	// The app opened by the podcast link reports it; the open is a click of the link.
	code, resp, _ := call(t, "POST", d.ingestURL()+"/v1/deeplinks", map[string]string{"X-App-Key": app.SDKKey, "User-Agent": iPhoneUA},
		map[string]any{"url": podcast.ClickURL + "?c=autumn", "device_id": "dev_opened"})
	var opened map[string]string
	if err := json.Unmarshal(resp, &opened); code != 200 || err != nil || opened["deep_link_value"] != "promo/spring" ||
		opened["link_id"] != podcast.ID || opened["media_source"] != "podcast" || opened["campaign"] != "autumn" {
		t.Fatalf("POST /v1/deeplinks: %d %s", code, resp)
	}
	code, resp, _ = call(t, "POST", d.ingestURL()+"/v1/deeplinks", map[string]string{"X-App-Key": app.SDKKey},
		map[string]any{"url": strings.Replace(podcast.ClickURL, podcast.ID, "lk_doesnotexist0000", 1), "device_id": "dev_opened"})
	if code != 404 {
		t.Errorf("POST /v1/deeplinks with an unknown link: %d %s, want 404", code, resp)
	}

	// Clicks 10 days old: inside the podcast link's 30 days, outside the flash link's 1
	// and the app's 7.
	tenDays := time.Now().Add(-10 * 24 * time.Hour).Unix()
	sendTouch(t, d, app, map[string]any{"type": "click", "link_id": podcast.ID, "device_id": "dev_podcast", "timestamp": tenDays})
	sendTouch(t, d, app, map[string]any{"type": "click", "link_id": flash.ID, "device_id": "dev_flash", "timestamp": tenDays})
	sendTouch(t, d, app, map[string]any{"type": "click", "media_source": "no_link", "device_id": "dev_nolink", "timestamp": tenDays})

	// The web fallback carries our click id, the landing page's query kept.
	code, _, hdr = call(t, "GET", podcast.ClickURL, map[string]string{"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"}, nil)
	loc, err := url.Parse(hdr.Get("Location"))
	if code != http.StatusFound || err != nil || loc.Host != "links.example" || loc.Query().Get("lang") != "en" || len(loc.Query().Get("click_id")) != 32 {
		t.Errorf("desktop click: %d, Location %q", code, hdr.Get("Location"))
	}

	// PATCH, then DELETE: the deleted link's /c/ and /i/ answer 404 (at once in serve,
	// within the 5-second link cache of another ingestion process).
	code, resp, _ = call(t, "PATCH", d.apiURL()+"/api/apps/"+app.ID+"/links/"+flash.ID, server, map[string]any{"campaign": "renamed"})
	if code != 200 || !strings.Contains(string(resp), `"campaign":"renamed"`) {
		t.Errorf("PATCH link: %d %s", code, resp)
	}
	if code, resp, _ := call(t, "DELETE", d.apiURL()+"/api/apps/"+app.ID+"/links/"+flash.ID, server, nil); code != 204 {
		t.Fatalf("DELETE link: %d %s", code, resp)
	}
	for _, u := range []string{flash.ClickURL, strings.Replace(flash.ClickURL, "/c/", "/i/", 1)} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			code, _, _ := call(t, "GET", u, nil, nil)
			if code == 404 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET %s of a deleted link: %d, want 404", u, code)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}

	now := time.Now().Unix()
	sendEvents(t, d, server, []map[string]any{
		// A minute after the open: a CTIT over min_ctit_seconds, as a real first open has.
		{"event_type": "install", "device_id": "dev_opened", "timestamp": now + 60},
		{"event_type": "install", "device_id": "dev_podcast", "timestamp": now},
		{"event_type": "install", "device_id": "dev_flash", "timestamp": now},
		{"event_type": "install", "device_id": "dev_nolink", "timestamp": now},
	})
	d.waitDrained(t)
	for device, want := range map[string][2]string{
		"dev_opened":  {"device_id", "podcast"}, // the reported open, through the log
		"dev_podcast": {"device_id", "podcast"}, // the link's 30 days
		"dev_flash":   {"organic", "organic"},   // the link's 1 day; its deletion leaves the touchpoint
		"dev_nolink":  {"organic", "organic"},   // the app's 7 days
	} {
		got := attributionOf(t, d, app, device)
		if got.MatchType != want[0] || got.MediaSource != want[1] {
			t.Errorf("%s decided %s/%s, want %s/%s", device, got.MatchType, got.MediaSource, want[0], want[1])
		}
	}
	if got := attributionOf(t, d, app, "dev_opened"); got.Campaign != "autumn" || got.DeepLinkValue != "promo/spring" {
		t.Errorf("the opened device's attribution: %+v", got)
	}
}
