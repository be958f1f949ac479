package attribution

import (
	"strconv"
	"strings"

	"github.com/unmogrowp/unmogrowp"
)

// Device is what a user agent says about the device that sent it.
type Device struct {
	Platform  string // unmogrowp.PlatformIOS, PlatformAndroid, PlatformWeb, PlatformOther; "" for an empty user agent
	OSVersion string // "major.minor" (a missing minor is 0); "" when unknown
	Model     string // the device model when the user agent names it (Android model, Apple machine id); "" otherwise
}

// ParseUserAgent reads the platform, OS version and device model out of a user agent, for
// fingerprints. It knows the mobile families attribution sees:
//
//   - iOS browsers and web views: "(iPhone; CPU iPhone OS 17_1_2 like Mac OS X)",
//     "(iPad; CPU OS 16_6 like Mac OS X)", "(iPod touch; CPU iPhone OS 15_7 ...)". Safari
//     26 and later freeze that token at 18_6 or 18_7; their "Version/26.1" token is used
//     instead. The model is the Apple machine id ("iPhone14,5") when an in-app browser
//     adds it (Facebook's FBDV/, Instagram's); the family name "iPhone" is not a model.
//   - iOS app UAs with the OS spelt out: "(iPhone; iOS 17.1; Scale/3.00)".
//   - iOS app UAs from CFNetwork: "MyApp/1.0 CFNetwork/1474 Darwin/23.0.0". The iOS version
//     is derived from the Darwin version (Darwin 17-24 → iOS 11-18, 25 → iOS 26, minor =
//     Darwin minor). That is approximate: minors drift on some releases, and a macOS app
//     sends the same shape.
//   - Android browsers, web views and Dalvik: "(Linux; Android 14; Pixel 8 Build/UD1A...)",
//     "Dalvik/2.1.0 (Linux; U; Android 13; SM-S918B Build/TP1A.220624.014)",
//     "(Android 14; Mobile; rv:120.0)". Chrome's reduced UA "(Linux; Android 10; K)" is a
//     frozen placeholder, not the device: its version and model are reported unknown.
//   - Desktop browsers (Windows, macOS, Linux, ChromeOS) are web, without an OS version.
//   - Everything else (bots, HTTP libraries, TVs, consoles, Windows Phone) is other.
//
// No maintained Go library maps a mobile user agent to (platform, OS major.minor, model)
// without carrying a large regular-expression database; these few families are what
// fingerprints need, and a small parser is fast and easy to test.
func ParseUserAgent(ua string) Device {
	ua = strings.TrimSpace(ua)
	switch {
	case ua == "":
		return Device{}
	case containsAny(ua, "Windows Phone", "SMART-TV", "SmartTV", "Tizen", "Web0S", "webOS", "Xbox", "PlayStation"):
		return Device{Platform: unmogrowp.PlatformOther}
	case containsAny(ua, "iPhone", "iPad", "iPod", "; iOS ", "(iOS "):
		if isBot(ua) { // crawlers imitate phones
			return Device{Platform: unmogrowp.PlatformOther}
		}
		return parseIOS(ua)
	case strings.Contains(ua, "Android"):
		if isBot(ua) {
			return Device{Platform: unmogrowp.PlatformOther}
		}
		return parseAndroid(ua)
	case strings.Contains(ua, "CFNetwork/") && strings.Contains(ua, "Darwin/"):
		return Device{Platform: unmogrowp.PlatformIOS, OSVersion: darwinToIOS(after(ua, "Darwin/"))}
	case isBot(ua):
		return Device{Platform: unmogrowp.PlatformOther}
	case strings.HasPrefix(ua, "Mozilla/") && containsAny(ua, "Windows", "Macintosh", "X11", "CrOS", "Linux"):
		return Device{Platform: unmogrowp.PlatformWeb}
	}
	return Device{Platform: unmogrowp.PlatformOther}
}

// isBot reports whether ua is a crawler's: they often imitate a phone.
func isBot(ua string) bool {
	return containsAny(ua, "bot/", "Bot/", "bot.html", "spider", "Spider", "crawler", "Crawler", "facebookexternalhit", "+http")
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func parseIOS(ua string) Device {
	d := Device{Platform: unmogrowp.PlatformIOS, Model: appleMachineID(ua)}
	for _, tok := range []string{"iPhone OS ", "CPU OS ", "FBSV/", "; iOS ", "(iOS ", " iOS/"} {
		if v := after(ua, tok); v != "" {
			if d.OSVersion = normalizeOSVersion(v); d.OSVersion != "" {
				break
			}
		}
	}
	// Safari 26 and later freeze "iPhone OS 18_6" (or 18_7); its own version follows iOS.
	if v := normalizeOSVersion(after(ua, "Version/")); v != "" {
		if major, _, _ := strings.Cut(v, "."); atoi(major) >= 26 {
			d.OSVersion = v
		}
	}
	return d
}

// appleMachineID finds an Apple machine id such as "iPhone14,5" or "iPad13,4" in ua.
func appleMachineID(ua string) string {
	for _, family := range []string{"iPhone", "iPad", "iPod"} {
		for rest, off := ua, 0; ; {
			i := strings.Index(rest, family)
			if i < 0 {
				break
			}
			start := off + i
			j := start + len(family)
			n := digits(ua[j:])
			if n > 0 && j+n < len(ua) && ua[j+n] == ',' {
				if m := digits(ua[j+n+1:]); m > 0 {
					return ua[start : j+n+1+m]
				}
			}
			off = j
			rest = ua[j:]
		}
	}
	return ""
}

// androidSkip are tokens of an Android UA's comment that are not the device model.
var androidSkip = map[string]bool{
	"u": true, "i": true, "n": true, "mobile": true, "tablet": true, "wv": true, "linux": true,
	"arm": true, "arm_64": true, "arm64": true, "x86": true, "x86_64": true, "tv": true,
	"harmonyos": true,
}

func parseAndroid(ua string) Device {
	d := Device{Platform: unmogrowp.PlatformAndroid}
	i := strings.Index(ua, "Android")
	comment := ua[i:]
	if open := strings.LastIndexByte(ua[:i], '('); open >= 0 {
		comment = ua[open+1:]
	}
	if end := strings.IndexByte(comment, ')'); end >= 0 {
		comment = comment[:end]
	}
	toks := strings.Split(comment, ";")
	for k, tok := range toks {
		tok = strings.TrimSpace(tok)
		v, ok := strings.CutPrefix(tok, "Android")
		if !ok {
			continue
		}
		d.OSVersion = normalizeOSVersion(strings.TrimSpace(v))
		for _, m := range toks[k+1:] {
			m = strings.TrimSpace(m)
			for _, suffix := range []string{"Build/", " MIUI/"} {
				if b := strings.Index(m, suffix); b >= 0 {
					m = strings.TrimSpace(m[:b])
				}
			}
			if m == "" || androidSkip[strings.ToLower(m)] || isLocale(m) || strings.HasPrefix(m, "rv:") {
				continue
			}
			if len(m) > 8 && strings.EqualFold(m[:8], "SAMSUNG ") {
				m = strings.TrimSpace(m[8:])
			}
			d.Model = m
			break
		}
		break
	}
	if d.Model == "K" { // Chrome's reduced UA: "Android 10; K" names no real device
		d.Model, d.OSVersion = "", ""
	}
	return d
}

// isLocale reports whether tok looks like "en", "en-us" or "en_US".
func isLocale(tok string) bool {
	letters := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if c := s[i] | 0x20; c < 'a' || c > 'z' {
				return false
			}
		}
		return true
	}
	switch len(tok) {
	case 2:
		return letters(tok)
	case 5:
		return (tok[2] == '-' || tok[2] == '_') && letters(tok[:2]) && letters(tok[3:])
	}
	return false
}

// darwinToIOS maps a Darwin kernel version ("23.1.0") to the iOS version it ships with,
// approximately: Darwin 17-24 are iOS 11-18, Darwin 25 and later are iOS 26 and later.
func darwinToIOS(v string) string {
	n := digits(v)
	if n == 0 {
		return ""
	}
	major := atoi(v[:n])
	minor := 0
	if n < len(v) && v[n] == '.' {
		// A minor of more than 4 digits is not one (as normalizeOSVersion reads them).
		if m := digits(v[n+1:]); m <= 4 {
			minor = atoi(v[n+1 : n+1+m])
		}
	}
	switch {
	case major > 99:
		return ""
	case major >= 25:
		major++
	case major >= 17:
		major -= 6
	default:
		return ""
	}
	return strconv.Itoa(major) + "." + strconv.Itoa(minor)
}

// normalizeOSVersion truncates an OS version to "major.minor": "17_1_2" and "17.1.2" are
// "17.1", "14" is "14.0". It returns "" when v does not start with a number.
func normalizeOSVersion(v string) string {
	v = strings.TrimSpace(v)
	n := digits(v)
	if n == 0 || n > 4 {
		return ""
	}
	// Already "major.minor" without leading zeros: no need to build a new string.
	if n < len(v) && v[n] == '.' && (v[0] != '0' || n == 1) {
		if m := digits(v[n+1:]); m > 0 && m <= 4 && (v[n+1] != '0' || m == 1) {
			return v[:n+1+m]
		}
	}
	major := atoi(v[:n])
	minor := 0
	if n < len(v) && (v[n] == '.' || v[n] == '_') {
		if m := digits(v[n+1:]); m <= 4 {
			minor = atoi(v[n+1 : n+1+m])
		}
	}
	return strconv.Itoa(major) + "." + strconv.Itoa(minor)
}

// after returns what follows the first tok in s, or "".
func after(s, tok string) string {
	if i := strings.Index(s, tok); i >= 0 {
		return s[i+len(tok):]
	}
	return ""
}

// digits counts the ASCII digits at the start of s.
func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// atoi parses a short run of ASCII digits; anything else, or nothing, is 0.
func atoi(s string) int {
	if len(s) == 0 || len(s) > 9 {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0
	}
	return n
}
