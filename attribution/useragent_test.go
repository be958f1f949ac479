package attribution

import (
	"strings"
	"testing"

	"github.com/unmogrowp/unmogrowp"
)

func TestParseUserAgent(t *testing.T) {
	const (
		ios     = unmogrowp.PlatformIOS
		android = unmogrowp.PlatformAndroid
		web     = unmogrowp.PlatformWeb
		other   = unmogrowp.PlatformOther
	)
	tests := []struct {
		name, ua string
		want     Device
	}{
		// iOS browsers and web views.
		{"iphone safari", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1",
			Device{ios, "17.1", ""}},
		{"iphone safari no minor", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
			Device{ios, "17.0", ""}},
		{"ipad safari", "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
			Device{ios, "16.6", ""}},
		{"ipod touch", "Mozilla/5.0 (iPod touch; CPU iPhone OS 15_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.7 Mobile/15E148 Safari/604.1",
			Device{ios, "15.7", ""}},
		{"iphone chrome", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/119.0.6045.169 Mobile/15E148 Safari/604.1",
			Device{ios, "17.1", ""}},
		{"safari 26 frozen os token", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.0 Mobile/15E148 Safari/604.1",
			Device{ios, "26.0", ""}},
		{"safari 26.3 frozen at 18_7", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.3 Mobile/15E148 Safari/604.1",
			Device{ios, "26.3", ""}},
		{"safari 18.6 itself", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Mobile/15E148 Safari/604.1",
			Device{ios, "18.6", ""}},
		{"facebook in-app ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/442.0.0.40.111;FBBV/552186025;FBDV/iPhone14,2;FBMD/iPhone;FBSN/iOS;FBSV/17.1.2;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/553658377]",
			Device{ios, "17.1", "iPhone14,2"}},
		{"instagram in-app ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 309.0.2.18.110 (iPhone14,5; iOS 16_6; en_US; en; scale=3.00; 1170x2532; 537288532)",
			Device{ios, "16.6", "iPhone14,5"}},
		{"ios app with scale", "MyGame/3.2.1 (iPhone; iOS 17.1; Scale/3.00)",
			Device{ios, "17.1", ""}},
		{"alamofire app", "MyApp/1.2.3 (com.example.app; build:45; iOS 17.1.2) Alamofire/5.8.0",
			Device{ios, "17.1", ""}},
		{"cfnetwork darwin 23", "MyApp/1.0 CFNetwork/1474 Darwin/23.0.0",
			Device{ios, "17.0", ""}},
		{"cfnetwork darwin 22.6", "MyApp/5 CFNetwork/1410.0.3 Darwin/22.6.0",
			Device{ios, "16.6", ""}},
		{"cfnetwork darwin 21", "Game%20Name/1.0.4 CFNetwork/1335.0.3 Darwin/21.6.0",
			Device{ios, "15.6", ""}},
		{"cfnetwork darwin 20", "App/1 CFNetwork/1209 Darwin/20.2.0",
			Device{ios, "14.2", ""}},
		{"cfnetwork darwin 24", "App/1 CFNetwork/1568.100.1 Darwin/24.1.0",
			Device{ios, "18.1", ""}},
		{"cfnetwork darwin 25", "App/1 CFNetwork/3826.500.111 Darwin/25.0.0",
			Device{ios, "26.0", ""}},
		{"cfnetwork ancient darwin", "App/1 CFNetwork/758.0.2 Darwin/15.0.0",
			Device{ios, "", ""}},

		// Android.
		{"pixel chrome full", "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UD1A.230803.041) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.6045.163 Mobile Safari/537.36",
			Device{android, "14.0", "Pixel 8"}},
		{"chrome reduced ua", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
			Device{android, "", ""}},
		{"dalvik", "Dalvik/2.1.0 (Linux; U; Android 13; SM-S918B Build/TP1A.220624.014)",
			Device{android, "13.0", "SM-S918B"}},
		{"dalvik old with minor", "Dalvik/2.1.0 (Linux; U; Android 8.1.0; Redmi 5 Plus MIUI/V11.0.2.0.OEGMIXM)",
			Device{android, "8.1", "Redmi 5 Plus"}},
		{"webview wv", "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.193 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/442.0.0.33.113;]",
			Device{android, "14.0", "SM-S918B"}},
		{"samsung internet", "Mozilla/5.0 (Linux; Android 9; SAMSUNG SM-G960F Build/PPR1.180610.011) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/9.2 Chrome/67.0.3396.87 Mobile Safari/537.36",
			Device{android, "9.0", "SM-G960F"}},
		{"old android with locale", "Mozilla/5.0 (Linux; U; Android 4.4.2; en-us; SM-G900F Build/KOT49H) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30",
			Device{android, "4.4", "SM-G900F"}},
		{"firefox android", "Mozilla/5.0 (Android 14; Mobile; rv:120.0) Gecko/120.0 Firefox/120.0",
			Device{android, "14.0", ""}},
		{"android tablet", "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
			Device{android, "13.0", "SM-X700"}},
		{"yandex arm_64", "Mozilla/5.0 (Linux; arm_64; Android 10; Redmi Note 8 Pro) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.5735.264 YaBrowser/23.7.5.88.00 SA/3 Mobile Safari/537.36",
			Device{android, "10.0", "Redmi Note 8 Pro"}},
		{"app on android", "MyApp/2.0 (Android 13; SM-A536B)",
			Device{android, "13.0", "SM-A536B"}},

		// Desktop and the rest.
		{"windows chrome", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
			Device{web, "", ""}},
		{"mac safari", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
			Device{web, "", ""}},
		{"linux firefox", "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
			Device{web, "", ""}},
		{"chromebook", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
			Device{web, "", ""}},
		{"googlebot smartphone", "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.6045.199 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
			Device{other, "", ""}},
		{"facebook crawler", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
			Device{other, "", ""}},
		{"windows phone", "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063",
			Device{other, "", ""}},
		{"tizen tv", "Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) 85.0.4183.93/6.0 TV Safari/537.36",
			Device{other, "", ""}},
		{"curl", "curl/8.4.0", Device{other, "", ""}},
		{"okhttp", "okhttp/4.12.0", Device{other, "", ""}},
		{"empty", "", Device{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseUserAgent(tt.ua); got != tt.want {
				t.Fatalf("ParseUserAgent(%q)\n got %+v\nwant %+v", tt.ua, got, tt.want)
			}
		})
	}
}

func TestNormalizeOSVersion(t *testing.T) {
	for in, want := range map[string]string{
		"17.1.2": "17.1", "17_1_2": "17.1", "17.1": "17.1", "14": "14.0", " 8.1.0": "8.1",
		"17.": "17.0", "017.01": "17.1", "": "", "beta": "", "v17": "", "12345.1": "",
	} {
		if got := normalizeOSVersion(in); got != want {
			t.Errorf("normalizeOSVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseUserAgent(f *testing.F) {
	for _, s := range []string{
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X)", "Dalvik/2.1.0 (Linux; U; Android 13; SM-S918B Build/TP1A)",
		"MyApp/1.0 CFNetwork/1474 Darwin/23.0.0", "iPhone99999999999,", "Android", "(Android;;)", "Darwin/99999999999999.9 CFNetwork/",
		"Darwin/17.10000CFNetwork/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ua string) {
		d := ParseUserAgent(ua)
		if strings.TrimSpace(ua) != "" && d.Platform == "" {
			t.Fatalf("no platform for %q", ua)
		}
		if d.OSVersion != "" && normalizeOSVersion(d.OSVersion) != d.OSVersion {
			t.Fatalf("OS version %q of %q is not major.minor", d.OSVersion, ua)
		}
	})
}
