package attribution

import (
	"fmt"
	"net/url"
	"reflect"
	"sync"
	"testing"

	"github.com/unmogrowp/unmogrowp"
)

const (
	uaIPhone171 = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1"
	uaPixel8    = "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UD1A.230803.041) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.6045.163 Mobile Safari/537.36"
	uaFBIOS     = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBDV/iPhone14,2;FBSV/17.1.2]"
)

func TestFingerprintMatches(t *testing.T) {
	tests := []struct {
		name    string
		install unmogrowp.Event
		touch   unmogrowp.Touchpoint
		want    bool
	}{
		{"spec example", unmogrowp.Event{IP: "203.0.113.7", Platform: "ios", OSVersion: "17.1"},
			unmogrowp.Touchpoint{IP: "203.0.113.7", UserAgent: uaIPhone171}, true},
		{"install patch version truncated", unmogrowp.Event{IP: "203.0.113.7", Platform: "ios", OSVersion: "17.1.2"},
			unmogrowp.Touchpoint{IP: "203.0.113.7", UserAgent: uaIPhone171}, true},
		{"other ip", unmogrowp.Event{IP: "203.0.113.8", Platform: "ios", OSVersion: "17.1"},
			unmogrowp.Touchpoint{IP: "203.0.113.7", UserAgent: uaIPhone171}, false},
		{"other minor", unmogrowp.Event{IP: "203.0.113.7", Platform: "ios", OSVersion: "17.2"},
			unmogrowp.Touchpoint{IP: "203.0.113.7", UserAgent: uaIPhone171}, false},
		{"other platform", unmogrowp.Event{IP: "203.0.113.7", Platform: "android", OSVersion: "17.1"},
			unmogrowp.Touchpoint{IP: "203.0.113.7", UserAgent: uaIPhone171}, false},
		{"install from its user agent", unmogrowp.Event{IP: "203.0.113.7", UserAgent: uaIPhone171},
			unmogrowp.Touchpoint{IP: "203.0.113.7", UserAgent: uaIPhone171}, true},
		{"install os from ua only when platforms agree", unmogrowp.Event{IP: "203.0.113.7", Platform: "android", UserAgent: uaIPhone171},
			unmogrowp.Touchpoint{IP: "203.0.113.7", UserAgent: uaIPhone171}, false},
		{"install platform upper case", unmogrowp.Event{IP: "203.0.113.7", Platform: "IOS", OSVersion: "17.1"},
			unmogrowp.Touchpoint{IP: "203.0.113.7", UserAgent: uaIPhone171}, true},
		{"ipv6 same /64", unmogrowp.Event{IP: "2001:db8:1:2::aaaa", Platform: "android", OSVersion: "14"},
			unmogrowp.Touchpoint{IP: "2001:db8:1:2:ffff:1:2:3", UserAgent: uaPixel8}, true},
		{"ipv6 other /64", unmogrowp.Event{IP: "2001:db8:1:3::aaaa", Platform: "android", OSVersion: "14"},
			unmogrowp.Touchpoint{IP: "2001:db8:1:2::aaaa", UserAgent: uaPixel8}, false},
		{"ipv4-mapped ipv6", unmogrowp.Event{IP: "::ffff:203.0.113.7", Platform: "ios", OSVersion: "17.1"},
			unmogrowp.Touchpoint{IP: "203.0.113.7", UserAgent: uaIPhone171}, true},
		{"model both known equal", unmogrowp.Event{IP: "198.51.100.1", Platform: "android", OSVersion: "14", DeviceModel: "pixel 8"},
			unmogrowp.Touchpoint{IP: "198.51.100.1", UserAgent: uaPixel8}, true},
		{"model both known different", unmogrowp.Event{IP: "198.51.100.1", Platform: "android", OSVersion: "14", DeviceModel: "Pixel 7"},
			unmogrowp.Touchpoint{IP: "198.51.100.1", UserAgent: uaPixel8}, false},
		{"model only install knows", unmogrowp.Event{IP: "203.0.113.7", Platform: "ios", OSVersion: "17.1", DeviceModel: "iPhone15,2"},
			unmogrowp.Touchpoint{IP: "203.0.113.7", UserAgent: uaIPhone171}, true},
		{"model only click knows", unmogrowp.Event{IP: "198.51.100.1", Platform: "android", OSVersion: "14.0"},
			unmogrowp.Touchpoint{IP: "198.51.100.1", UserAgent: uaPixel8}, true},
		{"apple machine id differs", unmogrowp.Event{IP: "203.0.113.7", Platform: "ios", OSVersion: "17.1", DeviceModel: "iPhone15,2"},
			unmogrowp.Touchpoint{IP: "203.0.113.7", UserAgent: uaFBIOS}, false},
		{"apple machine id equal", unmogrowp.Event{IP: "203.0.113.7", Platform: "ios", OSVersion: "17.1", DeviceModel: "iPhone14,2"},
			unmogrowp.Touchpoint{IP: "203.0.113.7", UserAgent: uaFBIOS}, true},
		{"install without os version", unmogrowp.Event{IP: "203.0.113.7", Platform: "ios"},
			unmogrowp.Touchpoint{IP: "203.0.113.7", UserAgent: uaIPhone171}, false},
		{"install without ip", unmogrowp.Event{Platform: "ios", OSVersion: "17.1"},
			unmogrowp.Touchpoint{IP: "203.0.113.7", UserAgent: uaIPhone171}, false},
		{"install without platform or ua", unmogrowp.Event{IP: "203.0.113.7", OSVersion: "17.1"},
			unmogrowp.Touchpoint{IP: "203.0.113.7", UserAgent: uaIPhone171}, false},
		{"click without ip", unmogrowp.Event{IP: "203.0.113.7", Platform: "ios", OSVersion: "17.1"},
			unmogrowp.Touchpoint{UserAgent: uaIPhone171}, false},
		{"click reduced ua has no os version", unmogrowp.Event{IP: "198.51.100.1", Platform: "android", OSVersion: "10"},
			unmogrowp.Touchpoint{IP: "198.51.100.1", UserAgent: "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"}, false},
		{"desktop click has no os version", unmogrowp.Event{IP: "198.51.100.1", Platform: "web", OSVersion: "10.0"},
			unmogrowp.Touchpoint{IP: "198.51.100.1", UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/119.0.0.0 Safari/537.36"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, tp := InstallFingerprint(&tt.install), TouchpointFingerprint(&tt.touch)
			if got := in.Matches(tp); got != tt.want {
				t.Fatalf("install %+v matches click %+v: %v, want %v", in, tp, got, tt.want)
			}
			if got := tp.Matches(in); got != tt.want {
				t.Fatalf("Matches is not symmetric")
			}
			if tt.want && in.Key() != tp.Key() {
				t.Fatalf("matching fingerprints have different keys %q and %q", in.Key(), tp.Key())
			}
		})
	}
}

func TestFingerprintKey(t *testing.T) {
	tests := []struct {
		name string
		f    Fingerprint
		want string
	}{
		{"ipv4", TouchpointFingerprint(&unmogrowp.Touchpoint{IP: "203.0.113.7", UserAgent: uaIPhone171}), "203.0.113.7|ios|17.1"},
		{"ipv6 keyed by /64", TouchpointFingerprint(&unmogrowp.Touchpoint{IP: "2001:db8:1:2:3:4:5:6", UserAgent: uaPixel8}), "2001:db8:1:2::/64|android|14.0"},
		{"ipv6 zone dropped", InstallFingerprint(&unmogrowp.Event{IP: "fe80::1%eth0", Platform: "android", OSVersion: "14"}), "fe80::/64|android|14.0"},
		{"no ip", TouchpointFingerprint(&unmogrowp.Touchpoint{IP: "not an ip", UserAgent: uaPixel8}), ""},
		{"no os", TouchpointFingerprint(&unmogrowp.Touchpoint{IP: "203.0.113.7", UserAgent: "curl/8.0"}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.Key(); got != tt.want {
				t.Fatalf("Key() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCandidateKeys(t *testing.T) {
	install := unmogrowp.Event{
		AppID: "app", DeviceID: "sdk-1", InstallReferrer: "utm_source=x&click_id=tp_42&pid=net",
		IDFA: "00000000-0000-0000-0000-000000000000", GAID: "ABCDEF01-2345-6789-ABCD-EF0123456789",
		AndroidID: "9774D56D682E549C", IP: "198.51.100.1", Platform: "android", OSVersion: "14",
	}
	want := Keys{
		TouchpointID: "tp_42",
		DeviceIDs:    []string{"gaid:abcdef01-2345-6789-abcd-ef0123456789", "android_id:9774d56d682e549c", "device_id:sdk-1"},
		Fingerprint:  "198.51.100.1|android|14.0",
	}
	if got := CandidateKeys(&install); !reflect.DeepEqual(got, want) {
		t.Fatalf("CandidateKeys:\n got %+v\nwant %+v", got, want)
	}
	tp := unmogrowp.Touchpoint{ID: "tp_42", GAID: "abcdef01-2345-6789-abcd-ef0123456789", IP: "198.51.100.1", UserAgent: uaPixel8}
	wantTP := Keys{
		TouchpointID: "tp_42",
		DeviceIDs:    []string{"gaid:abcdef01-2345-6789-abcd-ef0123456789"},
		Fingerprint:  "198.51.100.1|android|14.0",
	}
	if got := TouchpointKeys(&tp); !reflect.DeepEqual(got, wantTP) {
		t.Fatalf("TouchpointKeys:\n got %+v\nwant %+v", got, wantTP)
	}
	if got := CandidateKeys(&unmogrowp.Event{}); !reflect.DeepEqual(got, Keys{}) {
		t.Fatalf("CandidateKeys of an empty install: %+v", got)
	}
}

func TestReferrerClickID(t *testing.T) {
	for in, want := range map[string]string{
		"click_id=abc&pid=x":                 "abc",
		"pid=x&click_id=abc":                 "abc",
		"?click_id=abc":                      "abc",
		"click_id=a%2Bb%20c&pid=x":           "a+b c",
		"click_id%3Dabc%26pid%3Dx":           "abc",
		"utm_source=google-play&utm_medium=": "",
		"click_id=&pid=x":                    "",
		"click_idx=abc":                      "",
		"click_id=%zz":                       "",
		"":                                   "",
	} {
		if got := ReferrerClickID(in); got != want {
			t.Errorf("ReferrerClickID(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzReferrerClickID(f *testing.F) {
	for _, s := range []string{"click_id=abc&pid=x", "click_id%3Dabc%26pid%3Dx", "click_id=%zz", "?click_id=a+b", "&&=&click_id"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		id := ReferrerClickID(ref)
		if id == "" {
			return
		}
		// Whatever id is found is found again in a referrer built from it.
		if again := ReferrerClickID("click_id=" + url.QueryEscape(id) + "&pid=x"); again != id {
			t.Fatalf("ReferrerClickID(%q) = %q, but its re-encoding gives %q", ref, id, again)
		}
	})
}

// TestUACache checks that the memo of parsed user agents answers as ParseUserAgent does,
// under concurrent use, and stays within its bound when flooded with distinct ones.
func TestUACache(t *testing.T) {
	c := uaCache{m: make(map[string]Device)}
	uas := []string{uaIPhone171, uaPixel8, uaFBIOS, "", "curl/8.5.0"}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				for _, ua := range uas {
					if got, want := c.parse(ua), ParseUserAgent(ua); got != want {
						t.Errorf("parse(%q) = %+v, want %+v", ua, got, want)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	for i := range 3 * maxParsedUAs {
		ua := fmt.Sprintf("Mozilla/5.0 (Linux; Android 14; Model-%d Build/X)", i)
		if d := c.parse(ua); d.Model != fmt.Sprintf("Model-%d", i) {
			t.Fatalf("parse(%q).Model = %q", ua, d.Model)
		}
		if n := len(c.m); n > maxParsedUAs {
			t.Fatalf("the cache holds %d user agents, bound %d", n, maxParsedUAs)
		}
	}
}
