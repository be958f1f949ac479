package api_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// TestLinkPatchAndDelete edits every field of a link, then deletes it: PATCH changes only
// the fields present, validates as create does, sets and clears the link's own windows;
// DELETE answers 204 once and 404 after; another app's link is 404 either way.
func TestLinkPatchAndDelete(t *testing.T) {
	f := newFixture(t)
	prefix := "/api/apps/" + f.app.ID + "/links"
	code, link := f.do("POST", prefix, f.key, `{"media_source":"facebook","campaign":"summer","click_lookback_days":3}`)
	if code != 201 || link["click_lookback_days"] != 3.0 || link["view_lookback_hours"] != nil {
		t.Fatalf("create: %d %v", code, link)
	}
	id := link["id"].(string)
	path := prefix + "/" + id

	code, got := f.do("PATCH", path, f.key, `{"campaign":" winter ","ad":"a1","adset":"s1","site_id":"site","channel":"ch",
		"ios_url":"https://apps.apple.com/app/id9","android_url":"https://play.google.com/store/apps/details?id=x",
		"web_url":"https://example.com/w","deep_link_value":"promo/2","view_lookback_hours":6,"click_lookback_days":null}`)
	want := map[string]any{
		"id": id, "media_source": "facebook", "campaign": "winter", "ad": "a1", "adset": "s1", "site_id": "site",
		"channel": "ch", "ios_url": "https://apps.apple.com/app/id9", "android_url": "https://play.google.com/store/apps/details?id=x",
		"web_url": "https://example.com/w", "deep_link_value": "promo/2", "view_lookback_hours": 6.0,
		"click_lookback_days": nil, "click_url": "https://t.example.com/c/" + id, "created_at": link["created_at"],
	}
	if code != 200 {
		t.Fatalf("patch: %d %v", code, got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("patched %s = %v, want %v", k, got[k], v)
		}
	}
	// What the list reads back is what PATCH answered.
	_, list := f.do("GET", prefix, f.key, "")
	if l := list["links"].([]any)[0].(map[string]any); fmt.Sprint(l) != fmt.Sprint(got) {
		t.Errorf("listed %v, want %v", l, got)
	}

	for _, tc := range []struct{ body, mention string }{
		{`{"media_source":""}`, "media_source"},
		{`{"web_url":"javascript:alert(1)"}`, "web_url"},
		{`{"click_lookback_days":31}`, "click_lookback_days"},
		{`{"click_lookback_days":0}`, "click_lookback_days"},
		{`{"view_lookback_hours":169}`, "view_lookback_hours"},
		{`{"view_lookback_hours":"6"}`, "view_lookback_hours"},
		{`{"campaign":7}`, "campaign"},
		{`[]`, "JSON object"},
	} {
		if code, body := f.do("PATCH", path, f.key, tc.body); code != 400 || !strings.Contains(body["error"].(string), tc.mention) {
			t.Errorf("PATCH %s: %d %v, want 400 naming %s", tc.body, code, body, tc.mention)
		}
	}
	for _, body := range []string{`{"media_source":"x","click_lookback_days":0}`, `{"media_source":"x","view_lookback_hours":200}`} {
		if code, out := f.do("POST", prefix, f.key, body); code != 400 {
			t.Errorf("POST %s: %d %v, want 400", body, code, out)
		}
	}
	// Nothing refused changed the link.
	if _, list := f.do("GET", prefix, f.key, ""); fmt.Sprint(list["links"].([]any)[0]) != fmt.Sprint(got) {
		t.Errorf("after refused patches: %v, want %v", list["links"], got)
	}

	// Another app's key, or this app's link under the other app: 404, nothing changes.
	otherPath := "/api/apps/" + f.other.ID + "/links/" + id
	for _, m := range []string{"PATCH", "DELETE", "GET"} {
		p := otherPath
		if m == "GET" {
			p += "/qr"
		}
		if code, body := f.do(m, p, f.okey, `{"campaign":"stolen"}`); code != 404 || body["error"] != "No such link." {
			t.Errorf("%s %s with the other app: %d %v, want 404", m, p, code, body)
		}
	}

	if code, body := f.raw("DELETE", path, f.key, ""); code != 204 || len(body) != 0 {
		t.Fatalf("delete: %d %q", code, body)
	}
	if _, list := f.do("GET", prefix, f.key, ""); len(list["links"].([]any)) != 0 {
		t.Errorf("links after delete: %v", list)
	}
	for _, m := range []string{"PATCH", "DELETE"} {
		if code, body := f.do(m, path, f.key, `{"campaign":"x"}`); code != 404 {
			t.Errorf("%s of a deleted link: %d %v, want 404", m, code, body)
		}
	}
}

// TestLinkQR decodes the QR codes of a link, PNG and SVG at the smallest, a middle and the
// largest size, back to exactly its click URL with error correction M, and refuses bad
// formats and sizes.
func TestLinkQR(t *testing.T) {
	f := newFixture(t)
	prefix := "/api/apps/" + f.app.ID + "/links"
	_, link := f.do("POST", prefix, f.key, `{"media_source":"print_flyer"}`)
	id := link["id"].(string)
	clickURL := link["click_url"].(string)
	qrPath := prefix + "/" + id + "/qr"

	for _, tc := range []struct {
		query       string
		contentType string
		size        int
	}{
		{"", "image/png", 256},
		{"?format=png&size=64", "image/png", 64},
		{"?format=png&size=2048", "image/png", 2048},
		{"?format=svg", "image/svg+xml", 256},
		{"?format=svg&size=64", "image/svg+xml", 64},
	} {
		t.Run(tc.query, func(t *testing.T) {
			resp := f.get(qrPath+tc.query, f.key)
			if resp.code != 200 || resp.header.Get("Content-Type") != tc.contentType {
				t.Fatalf("%d %s %q", resp.code, resp.header.Get("Content-Type"), resp.body[:min(len(resp.body), 200)])
			}
			var img image.Image
			if tc.contentType == "image/png" {
				var err error
				if img, err = png.Decode(bytes.NewReader(resp.body)); err != nil {
					t.Fatal(err)
				}
				if b := img.Bounds(); b.Dx() != tc.size || b.Dy() != tc.size {
					t.Errorf("PNG is %v, want %d px a side", b, tc.size)
				}
			} else {
				img = rasterSVG(t, resp.body, tc.size)
			}
			text, level := decodeQR(t, img)
			if text != clickURL || level != "M" {
				t.Errorf("decoded %q at level %q, want %q at M", text, level, clickURL)
			}
		})
	}

	for _, q := range []string{"?format=gif", "?format=PNG", "?size=63", "?size=2049", "?size=abc", "?size=256.5", "?format=svg&size=-1"} {
		resp := f.get(qrPath+q, f.key)
		if resp.code != 400 || !bytes.Contains(resp.body, []byte(`"error"`)) {
			t.Errorf("%s: %d %q, want a 400 JSON error", q, resp.code, resp.body)
		}
	}
	if resp := f.get(prefix+"/lk_doesnotexist0000/qr", f.key); resp.code != 404 {
		t.Errorf("QR of an unknown link: %d, want 404", resp.code)
	}
}

type response struct {
	code   int
	header http.Header
	body   []byte
}

// get makes a GET request with the server key and returns the whole answer.
func (f *fixture) get(path, key string) response {
	f.t.Helper()
	req, err := http.NewRequest("GET", f.srv.URL+path, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("X-Api-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return response{resp.StatusCode, resp.Header, b.Bytes()}
}

// decodeQR reads the QR code in img with ZXing's decoder and returns its text and error
// correction level.
func decodeQR(t *testing.T, img image.Image) (text, level string) {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("decode QR code: %v", err)
	}
	level, _ = res.GetResultMetadata()[gozxing.ResultMetadataType_ERROR_CORRECTION_LEVEL].(string)
	return res.GetText(), level
}

var (
	svgHeader = regexp.MustCompile(`^<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="(\d+)" height="(\d+)" viewBox="0 0 (\d+) (\d+)"`)
	svgRun    = regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`)
)

// rasterSVG draws the QR code SVG that the API writes (a path of module runs in a viewBox
// of one unit a module) as an image of 8 pixels a module, after checking its pixel size.
func rasterSVG(t *testing.T, svg []byte, size int) image.Image {
	t.Helper()
	m := svgHeader.FindSubmatch(svg)
	if m == nil || string(m[1]) != strconv.Itoa(size) || string(m[2]) != strconv.Itoa(size) || string(m[3]) != string(m[4]) {
		t.Fatalf("SVG header %q, want %d px a side and a square viewBox", svg[:min(200, len(svg))], size)
	}
	n, _ := strconv.Atoi(string(m[3]))
	const px = 8
	img := image.NewGray(image.Rect(0, 0, n*px, n*px))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	runs := svgRun.FindAllSubmatch(svg, -1)
	if len(runs) == 0 {
		t.Fatal("SVG draws no module")
	}
	for _, r := range runs {
		x, _ := strconv.Atoi(string(r[1]))
		y, _ := strconv.Atoi(string(r[2]))
		w, _ := strconv.Atoi(string(r[3]))
		for dy := range px {
			for dx := range w * px {
				img.SetGray(x*px+dx, y*px+dy, color.Gray{})
			}
		}
	}
	return img
}
