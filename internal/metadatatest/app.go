package metadatatest

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// The formats of an app's id and keys: a readable prefix, then random characters.
var (
	appIDFormat         = regexp.MustCompile(`^app_[a-z2-7]{16}$`)
	sdkKeyFormat        = regexp.MustCompile(`^pk_[0-9A-Za-z]{32}$`)
	serverKeyFormat     = regexp.MustCompile(`^sk_[0-9A-Za-z]{40}$`)
	signingSecretFormat = regexp.MustCompile(`^ss_[0-9A-Za-z]{40}$`)
)

// RunAppStore runs the conformance suite of unmogrowp.AppStore. open must return a fresh,
// empty store, isolated from the others (the subtests run in parallel), each time it is
// called, and close it when t ends.
func RunAppStore(t *testing.T, open func(t *testing.T) unmogrowp.AppStore) {
	t.Run("CreateAndGet", func(t *testing.T) { t.Parallel(); testCreateAndGet(t, open(t)) })
	t.Run("CreateInvalid", func(t *testing.T) { t.Parallel(); testCreateInvalid(t, open(t)) })
	t.Run("CreateCanceled", func(t *testing.T) { t.Parallel(); testCreateCanceled(t, open(t)) })
	t.Run("KeyFormatsAndUniqueness", func(t *testing.T) { t.Parallel(); testKeyFormats(t, open(t)) })
	t.Run("AppByKey", func(t *testing.T) { t.Parallel(); testAppByKey(t, open(t)) })
	t.Run("ServerKeyNotReturned", func(t *testing.T) { t.Parallel(); testServerKeyNotReturned(t, open(t)) })
	t.Run("RotateServerKey", func(t *testing.T) { t.Parallel(); testRotateServerKey(t, open(t)) })
	t.Run("Update", func(t *testing.T) { t.Parallel(); testUpdate(t, open(t)) })
	t.Run("UpdateInvalid", func(t *testing.T) { t.Parallel(); testUpdateInvalid(t, open(t)) })
	t.Run("Delete", func(t *testing.T) { t.Parallel(); testDelete(t, open(t)) })
	t.Run("Missing", func(t *testing.T) { t.Parallel(); testMissing(t, open(t)) })
	t.Run("AppsOrderAndOwner", func(t *testing.T) { t.Parallel(); testApps(t, open(t)) })
	t.Run("ConcurrentCreate", func(t *testing.T) { t.Parallel(); testConcurrentCreate(t, open(t)) })
}

// fullApp returns an app with every caller-set field non-zero, settings included.
func fullApp(name, owner string) *unmogrowp.App {
	s := unmogrowp.DefaultAppSettings()
	s.ClickLookbackDays = 14
	s.ViewLookbackHours = 48
	s.FingerprintWindowHours = 12
	s.FingerprintEnabled = false
	s.ReattributionWindowDays = 30
	s.MinCTITSeconds = 5
	s.IPBlocklist = []string{"10.0.0.0/8", "192.0.2.7", "2001:db8::/32"}
	s.RequireSignature = true
	s.RateLimitPerSecond = 5000
	s.MaxEventAgeDays = 400
	s.ReportingCurrency = "EUR"
	s.IOSTeamID = "ABCDE12345"
	s.IOSBundleID = "com.example.ios-" + strings.ToLower(strings.ReplaceAll(name, " ", ""))
	s.AndroidPackage = "com.example.android_app"
	s.AndroidSHA256Fingerprints = []string{
		"14:6D:E9:83:C5:73:06:50:D8:EE:B9:95:2F:34:FC:64:16:A0:83:42:E6:1D:BE:A8:8A:04:96:B2:3F:CF:44:E5",
		"FA:C6:17:45:DC:09:03:78:6F:B9:ED:E6:2A:96:2B:39:9F:73:48:F0:BB:6F:89:9B:83:32:66:75:91:03:3B:9C",
	}
	s.Timezone = "America/Los_Angeles"
	return &unmogrowp.App{
		OwnerID:    owner,
		Name:       name,
		Platform:   "ios",
		BundleID:   "com.example." + strings.ToLower(name),
		IOSURL:     "https://apps.apple.com/app/id123456789",
		AndroidURL: "https://play.google.com/store/apps/details?id=com.example",
		WebURL:     "https://example.com/" + name,
		Settings:   s,
	}
}

// create stores app and fails the test on an error. A placeholder owner ("user_1") becomes
// a real user of a store that keeps users (see ownerID).
func create(t *testing.T, s unmogrowp.AppStore, app *unmogrowp.App) unmogrowp.NewAppKeys {
	t.Helper()
	app.OwnerID = ownerID(t, s, app.OwnerID)
	keys, err := s.CreateApp(context.Background(), app)
	if err != nil {
		t.Fatalf("CreateApp(%q): %v", app.Name, err)
	}
	return keys
}

// get reads the app with id and fails the test on an error.
func get(t *testing.T, s unmogrowp.AppStore, id string) *unmogrowp.App {
	t.Helper()
	app, err := s.App(context.Background(), id)
	if err != nil {
		t.Fatalf("App(%q): %v", id, err)
	}
	return app
}

// wantApp fails the test unless got and want hold the same values (wantStored).
func wantApp(t *testing.T, got, want *unmogrowp.App) {
	t.Helper()
	wantStored(t, "app", got, want, func(v *unmogrowp.App) *time.Time { return &v.CreatedAt })
}

func testCreateAndGet(t *testing.T, s unmogrowp.AppStore) {
	ctx := context.Background()
	before := time.Now()
	app := fullApp("Full", ownerID(t, s, "user_1"))
	in := *app
	keys := create(t, s, app)
	after := time.Now()

	if app.ID == "" || app.SDKKey != keys.SDKKey || app.SigningSecret != keys.SigningSecret {
		t.Fatalf("CreateApp filled ID %q, SDKKey %q, SigningSecret %q; keys %+v",
			app.ID, app.SDKKey, app.SigningSecret, keys)
	}
	if app.CreatedAt.Before(before.Add(-time.Millisecond)) || app.CreatedAt.After(after) {
		t.Errorf("CreatedAt %v not within [%v, %v]", app.CreatedAt, before, after)
	}
	// The caller's fields are kept as they were given.
	in.ID, in.SDKKey, in.SigningSecret, in.CreatedAt = app.ID, app.SDKKey, app.SigningSecret, app.CreatedAt
	wantApp(t, app, &in)
	wantApp(t, get(t, s, app.ID), app)

	// A minimal app: defaults, no owner, no URLs, a nil block list (reads back empty).
	minimal := &unmogrowp.App{Name: "Minimal", Settings: unmogrowp.DefaultAppSettings()}
	minimal.Settings.IPBlocklist = nil
	create(t, s, minimal)
	got := get(t, s, minimal.ID)
	if got.OwnerID != "" || got.IOSURL != "" || len(got.Settings.IPBlocklist) != 0 {
		t.Errorf("minimal app read back as %+v", got)
	}
	want := *minimal
	want.Settings.IPBlocklist = got.Settings.IPBlocklist // nil and empty are both fine
	wantApp(t, got, &want)

	apps, err := s.Apps(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 2 {
		t.Fatalf("Apps(\"\") returned %d apps, want 2", len(apps))
	}
}

func testCreateInvalid(t *testing.T, s unmogrowp.AppStore) {
	ctx := context.Background()
	for _, tc := range invalidCases() {
		t.Run(tc.name, func(t *testing.T) {
			app := fullApp("Invalid", "")
			tc.mutate(app)
			_, err := s.CreateApp(ctx, app)
			wantMessage(t, err, unmogrowp.EINVALID, tc.mention)
			if app.ID != "" || app.SDKKey != "" {
				t.Errorf("rejected app was given ID %q, SDKKey %q", app.ID, app.SDKKey)
			}
		})
	}
	t.Run("ZeroSettings", func(t *testing.T) {
		_, err := s.CreateApp(ctx, &unmogrowp.App{Name: "Zero"})
		wantCode(t, err, unmogrowp.EINVALID)
	})
	apps, err := s.Apps(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 0 {
		t.Fatalf("invalid apps were stored: %d", len(apps))
	}
}

// invalidCases are apps that CreateApp and UpdateApp must reject with EINVALID, and a word
// the message must contain: the field or setting at fault.
func invalidCases() []struct {
	name, mention string
	mutate        func(*unmogrowp.App)
} {
	return []struct {
		name, mention string
		mutate        func(*unmogrowp.App)
	}{
		{"EmptyName", "name", func(a *unmogrowp.App) { a.Name = "" }},
		{"BlankName", "name", func(a *unmogrowp.App) { a.Name = "  \t" }},
		{"LongName", "at most 200 characters", func(a *unmogrowp.App) { a.Name = strings.Repeat("é", 201) }},
		{"ClickLookbackHigh", "click_lookback_days", func(a *unmogrowp.App) { a.Settings.ClickLookbackDays = 31 }},
		{"ClickLookbackZero", "click_lookback_days", func(a *unmogrowp.App) { a.Settings.ClickLookbackDays = 0 }},
		{"ViewLookback", "view_lookback_hours", func(a *unmogrowp.App) { a.Settings.ViewLookbackHours = 169 }},
		{"FingerprintWindow", "fingerprint_window_hours", func(a *unmogrowp.App) { a.Settings.FingerprintWindowHours = 25 }},
		{"Reattribution", "reattribution_window_days", func(a *unmogrowp.App) { a.Settings.ReattributionWindowDays = 731 }},
		{"MinCTITNegative", "min_ctit_seconds", func(a *unmogrowp.App) { a.Settings.MinCTITSeconds = -1 }},
		{"RateLimit", "rate_limit_per_second", func(a *unmogrowp.App) { a.Settings.RateLimitPerSecond = 10_000_001 }},
		{"MaxEventAge", "max_event_age_days", func(a *unmogrowp.App) { a.Settings.MaxEventAgeDays = 0 }},
		{"IPBlocklist", "ip_blocklist", func(a *unmogrowp.App) { a.Settings.IPBlocklist = []string{"10.0.0.0/8", "not-an-ip"} }},
		{"Currency", "reporting_currency", func(a *unmogrowp.App) { a.Settings.ReportingCurrency = "EURO" }},
		{"TeamIDLower", "ios_team_id", func(a *unmogrowp.App) { a.Settings.IOSTeamID = "abcde12345" }},
		{"TeamIDShort", "ios_team_id", func(a *unmogrowp.App) { a.Settings.IOSTeamID = "ABCDE1234" }},
		{"BundleIDSpace", "ios_bundle_id", func(a *unmogrowp.App) { a.Settings.IOSBundleID = "com.example game" }},
		{"PackageOneSegment", "android_package", func(a *unmogrowp.App) { a.Settings.AndroidPackage = "example" }},
		{"PackageDigitSegment", "android_package", func(a *unmogrowp.App) { a.Settings.AndroidPackage = "com.1example" }},
		{"FingerprintShort", "android_sha256_fingerprints", func(a *unmogrowp.App) {
			a.Settings.AndroidSHA256Fingerprints = []string{"14:6D:E9:83:C5:73:06:50:D8:EE:B9:95:2F:34:FC:64:16:A0:83:42:E6:1D:BE:A8:8A:04:96:B2:3F:CF:44"}
		}},
		{"FingerprintNotHex", "android_sha256_fingerprints", func(a *unmogrowp.App) {
			a.Settings.AndroidSHA256Fingerprints = []string{"ZZ:6D:E9:83:C5:73:06:50:D8:EE:B9:95:2F:34:FC:64:16:A0:83:42:E6:1D:BE:A8:8A:04:96:B2:3F:CF:44:E5"}
		}},
		{"FingerprintNoColons", "android_sha256_fingerprints", func(a *unmogrowp.App) {
			a.Settings.AndroidSHA256Fingerprints = []string{"146DE983C5730650D8EEB9952F34FC6416A08342E61DBEA88A0496B23FCF44E5"}
		}},
		{"TooManyFingerprints", "android_sha256_fingerprints", func(a *unmogrowp.App) {
			a.Settings.AndroidSHA256Fingerprints = slices.Repeat([]string{"14:6D:E9:83:C5:73:06:50:D8:EE:B9:95:2F:34:FC:64:16:A0:83:42:E6:1D:BE:A8:8A:04:96:B2:3F:CF:44:E5"}, 21)
		}},
		{"CurrencyUnknown", "reporting_currency", func(a *unmogrowp.App) { a.Settings.ReportingCurrency = "QQQ" }},
		{"Timezone", "settings.timezone", func(a *unmogrowp.App) { a.Settings.Timezone = "Mars/Olympus" }},
		{"TimezoneLocal", "settings.timezone", func(a *unmogrowp.App) { a.Settings.Timezone = "Local" }},
		{"TimezoneEmpty", "settings.timezone", func(a *unmogrowp.App) { a.Settings.Timezone = "" }},
	}
}

func testCreateCanceled(t *testing.T, s unmogrowp.AppStore) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.CreateApp(ctx, fullApp("Canceled", ""))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("CreateApp with a canceled context: %v, want context.Canceled", err)
	}
	apps, err := s.Apps(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 0 {
		t.Fatalf("an app was stored under a canceled context")
	}
}

func testKeyFormats(t *testing.T, s unmogrowp.AppStore) {
	seen := map[string]string{} // every id, key and secret, to what it is
	add := func(kind, v string) {
		t.Helper()
		if prev, dup := seen[v]; dup {
			t.Fatalf("%s %q repeats a %s", kind, v, prev)
		}
		seen[v] = kind
	}
	for i := range 100 {
		app := &unmogrowp.App{Name: fmt.Sprintf("App %d", i), Settings: unmogrowp.DefaultAppSettings()}
		keys := create(t, s, app)
		for _, c := range []struct {
			kind, v string
			re      *regexp.Regexp
		}{
			{"app id", app.ID, appIDFormat},
			{"sdk key", keys.SDKKey, sdkKeyFormat},
			{"server key", keys.ServerKey, serverKeyFormat},
			{"signing secret", keys.SigningSecret, signingSecretFormat},
		} {
			if !c.re.MatchString(c.v) {
				t.Fatalf("%s %q does not match %s", c.kind, c.v, c.re)
			}
			add(c.kind, c.v)
		}
	}
	if len(seen) != 400 {
		t.Fatalf("%d distinct values, want 400", len(seen))
	}
}

func testAppByKey(t *testing.T, s unmogrowp.AppStore) {
	ctx := context.Background()
	a := fullApp("Alpha", "user_1")
	ak := create(t, s, a)
	b := fullApp("Beta", "user_2")
	bk := create(t, s, b)

	sdkCase, _ := swapCase(ak.SDKKey, 3)
	serverCase, _ := swapCase(ak.ServerKey, 3)
	for _, tc := range []struct {
		name string
		key  string
		kind unmogrowp.KeyKind
		want *unmogrowp.App // nil: EUNAUTHORIZED
	}{
		{"SDKKey", ak.SDKKey, unmogrowp.SDKKey, a},
		{"ServerKey", ak.ServerKey, unmogrowp.ServerKey, a},
		{"OtherAppSDKKey", bk.SDKKey, unmogrowp.SDKKey, b},
		{"OtherAppServerKey", bk.ServerKey, unmogrowp.ServerKey, b},
		{"SDKKeyAsServerKey", ak.SDKKey, unmogrowp.ServerKey, nil},
		{"ServerKeyAsSDKKey", ak.ServerKey, unmogrowp.SDKKey, nil},
		{"SigningSecretAsSDKKey", ak.SigningSecret, unmogrowp.SDKKey, nil},
		{"SigningSecretAsServerKey", ak.SigningSecret, unmogrowp.ServerKey, nil},
		{"AppIDAsSDKKey", a.ID, unmogrowp.SDKKey, nil},
		{"EmptySDKKey", "", unmogrowp.SDKKey, nil},
		{"EmptyServerKey", "", unmogrowp.ServerKey, nil},
		{"UnknownSDKKey", "pk_" + strings.Repeat("A", 32), unmogrowp.SDKKey, nil},
		{"UnknownServerKey", "sk_" + strings.Repeat("A", 40), unmogrowp.ServerKey, nil},
		{"SDKKeyLastCharChanged", changeChar(ak.SDKKey, len(ak.SDKKey)-1), unmogrowp.SDKKey, nil},
		{"SDKKeyFirstCharChanged", changeChar(ak.SDKKey, 3), unmogrowp.SDKKey, nil},
		{"ServerKeyLastCharChanged", changeChar(ak.ServerKey, len(ak.ServerKey)-1), unmogrowp.ServerKey, nil},
		{"ServerKeyFirstCharChanged", changeChar(ak.ServerKey, 3), unmogrowp.ServerKey, nil},
		{"SDKKeyCaseChanged", sdkCase, unmogrowp.SDKKey, nil},
		{"ServerKeyCaseChanged", serverCase, unmogrowp.ServerKey, nil},
		{"SDKKeyTruncated", ak.SDKKey[:len(ak.SDKKey)-1], unmogrowp.SDKKey, nil},
		{"ServerKeyTruncated", ak.ServerKey[:len(ak.ServerKey)-1], unmogrowp.ServerKey, nil},
		{"SDKKeyPadded", ak.SDKKey + " ", unmogrowp.SDKKey, nil},
		{"ServerKeyPadded", " " + ak.ServerKey, unmogrowp.ServerKey, nil},
		{"ServerKeyPrefixOnly", "sk_", unmogrowp.ServerKey, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.AppByKey(ctx, tc.key, tc.kind)
			if tc.want == nil {
				wantCode(t, err, unmogrowp.EUNAUTHORIZED)
				if got != nil {
					t.Fatalf("got app %q with the error", got.ID)
				}
				return
			}
			if err != nil {
				t.Fatalf("AppByKey: %v", err)
			}
			wantApp(t, got, tc.want)
		})
	}
}

func testServerKeyNotReturned(t *testing.T, s unmogrowp.AppStore) {
	ctx := context.Background()
	app := fullApp("Secret", "user_1")
	keys := create(t, s, app)
	check := func(where string, got *unmogrowp.App) {
		t.Helper()
		if strings.Contains(fmt.Sprintf("%#v", *got), keys.ServerKey) {
			t.Errorf("%s returned the plain server key: %#v", where, *got)
		}
	}
	check("CreateApp", app)
	check("App", get(t, s, app.ID))
	byKey, err := s.AppByKey(ctx, keys.ServerKey, unmogrowp.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	check("AppByKey", byKey)
	apps, err := s.Apps(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range apps {
		check("Apps", a)
	}
}

func testRotateServerKey(t *testing.T, s unmogrowp.AppStore) {
	ctx := context.Background()
	app := fullApp("Rotate", "user_1")
	keys := create(t, s, app)
	other := fullApp("Other", "user_1")
	otherKeys := create(t, s, other)

	k1, err := s.RotateServerKey(ctx, app.ID)
	if err != nil {
		t.Fatalf("RotateServerKey: %v", err)
	}
	if !serverKeyFormat.MatchString(k1) || k1 == keys.ServerKey {
		t.Fatalf("rotated key %q: wrong format or unchanged", k1)
	}
	_, err = s.AppByKey(ctx, keys.ServerKey, unmogrowp.ServerKey)
	wantCode(t, err, unmogrowp.EUNAUTHORIZED)
	got, err := s.AppByKey(ctx, k1, unmogrowp.ServerKey)
	if err != nil {
		t.Fatalf("new server key: %v", err)
	}
	wantApp(t, got, app) // SDK key, signing secret and all else unchanged
	got, err = s.AppByKey(ctx, keys.SDKKey, unmogrowp.SDKKey)
	if err != nil {
		t.Fatalf("sdk key after rotation: %v", err)
	}
	wantApp(t, got, app)

	k2, err := s.RotateServerKey(ctx, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	if k2 == k1 {
		t.Fatal("second rotation returned the same key")
	}
	_, err = s.AppByKey(ctx, k1, unmogrowp.ServerKey)
	wantCode(t, err, unmogrowp.EUNAUTHORIZED)
	if _, err := s.AppByKey(ctx, k2, unmogrowp.ServerKey); err != nil {
		t.Fatalf("second new key: %v", err)
	}
	// The other app is untouched.
	got, err = s.AppByKey(ctx, otherKeys.ServerKey, unmogrowp.ServerKey)
	if err != nil {
		t.Fatalf("other app's server key after rotation: %v", err)
	}
	wantApp(t, got, other)

	_, err = s.RotateServerKey(ctx, "app_doesnotexist0000")
	wantCode(t, err, unmogrowp.ENOTFOUND)
}

func testUpdate(t *testing.T, s unmogrowp.AppStore) {
	ctx := context.Background()
	app := fullApp("Before", "user_1")
	keys := create(t, s, app)
	stored := *app

	upd := *app
	upd.Name = "After"
	upd.Platform = "android"
	upd.BundleID = "com.example.after"
	upd.IOSURL = "https://apps.apple.com/app/id987654321"
	upd.AndroidURL = "https://play.google.com/store/apps/details?id=com.example.after"
	upd.WebURL = "https://example.com/after"
	upd.Settings = unmogrowp.DefaultAppSettings()
	upd.Settings.IPBlocklist = []string{"198.51.100.0/24"}
	upd.Settings.RateLimitPerSecond = 10_000_000
	upd.Settings.MinCTITSeconds = 0
	// What UpdateApp does not change, even if the caller's struct differs.
	upd.OwnerID = "user_2"
	upd.SDKKey = "pk_" + strings.Repeat("B", 32)
	upd.SigningSecret = "ss_" + strings.Repeat("B", 40)
	upd.CreatedAt = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.UpdateApp(ctx, &upd); err != nil {
		t.Fatalf("UpdateApp: %v", err)
	}

	want := upd
	want.OwnerID, want.SDKKey, want.SigningSecret, want.CreatedAt =
		stored.OwnerID, stored.SDKKey, stored.SigningSecret, stored.CreatedAt
	wantApp(t, get(t, s, app.ID), &want)
	got, err := s.AppByKey(ctx, keys.ServerKey, unmogrowp.ServerKey)
	if err != nil {
		t.Fatalf("server key after update: %v", err)
	}
	wantApp(t, got, &want)

	missing := fullApp("Missing", "")
	missing.ID = "app_doesnotexist0000"
	wantCode(t, s.UpdateApp(ctx, missing), unmogrowp.ENOTFOUND)
	missing.ID = ""
	wantCode(t, s.UpdateApp(ctx, missing), unmogrowp.ENOTFOUND)
}

func testUpdateInvalid(t *testing.T, s unmogrowp.AppStore) {
	ctx := context.Background()
	app := fullApp("Valid", "user_1")
	create(t, s, app)
	for _, tc := range invalidCases() {
		t.Run(tc.name, func(t *testing.T) {
			upd := *app
			upd.Settings.IPBlocklist = slices.Clone(app.Settings.IPBlocklist)
			tc.mutate(&upd)
			wantMessage(t, s.UpdateApp(ctx, &upd), unmogrowp.EINVALID, tc.mention)
			wantApp(t, get(t, s, app.ID), app) // unchanged
		})
	}
}

func testDelete(t *testing.T, s unmogrowp.AppStore) {
	ctx := context.Background()
	gone := fullApp("Gone", "user_1")
	gk := create(t, s, gone)
	kept := fullApp("Kept", "user_1")
	kk := create(t, s, kept)

	if err := s.DeleteApp(ctx, gone.ID); err != nil {
		t.Fatalf("DeleteApp: %v", err)
	}
	_, err := s.App(ctx, gone.ID)
	wantCode(t, err, unmogrowp.ENOTFOUND)
	_, err = s.AppByKey(ctx, gk.SDKKey, unmogrowp.SDKKey)
	wantCode(t, err, unmogrowp.EUNAUTHORIZED)
	_, err = s.AppByKey(ctx, gk.ServerKey, unmogrowp.ServerKey)
	wantCode(t, err, unmogrowp.EUNAUTHORIZED)
	wantCode(t, s.DeleteApp(ctx, gone.ID), unmogrowp.ENOTFOUND)
	_, err = s.RotateServerKey(ctx, gone.ID)
	wantCode(t, err, unmogrowp.ENOTFOUND)
	wantCode(t, s.UpdateApp(ctx, gone), unmogrowp.ENOTFOUND)

	apps, err := s.Apps(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 1 {
		t.Fatalf("Apps after delete: %d apps, want 1", len(apps))
	}
	wantApp(t, apps[0], kept)
	if _, err := s.AppByKey(ctx, kk.ServerKey, unmogrowp.ServerKey); err != nil {
		t.Fatalf("kept app's server key: %v", err)
	}
}

func testMissing(t *testing.T, s unmogrowp.AppStore) {
	ctx := context.Background()
	for _, id := range []string{"app_doesnotexist0000", "", "'; DROP TABLE apps; --"} {
		_, err := s.App(ctx, id)
		wantCode(t, err, unmogrowp.ENOTFOUND)
		wantCode(t, s.DeleteApp(ctx, id), unmogrowp.ENOTFOUND)
	}
	apps, err := s.Apps(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 0 {
		t.Fatalf("empty store lists %d apps", len(apps))
	}
}

func testApps(t *testing.T, s unmogrowp.AppStore) {
	ctx := context.Background()
	var all []*unmogrowp.App
	owners := []string{"user_1", "", "user_2", "user_1", "", "user_1"}
	for i, owner := range owners {
		app := fullApp(fmt.Sprintf("App%d", i), owner)
		create(t, s, app)
		all = append(all, app)
		time.Sleep(2 * time.Millisecond) // distinct creation times, so the order is known
	}
	for _, tc := range []struct {
		owner string
		want  []int // indexes into all, oldest first
	}{
		{"", []int{0, 1, 2, 3, 4, 5}},
		{"user_1", []int{0, 3, 5}},
		{"user_2", []int{2}},
		{"user_3", nil},
	} {
		t.Run("owner="+tc.owner, func(t *testing.T) {
			got, err := s.Apps(ctx, ownerID(t, s, tc.owner))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("Apps(%q) returned %d apps, want %d", tc.owner, len(got), len(tc.want))
			}
			for i, j := range tc.want {
				wantApp(t, got[i], all[j])
			}
		})
	}
}

// testConcurrentCreate creates apps from 8 goroutines, each reading back its own app by
// both keys at once, and checks that every app is stored once with its own keys.
func testConcurrentCreate(t *testing.T, s unmogrowp.AppStore) {
	ctx := context.Background()
	const workers, perWorker = 8, 25
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		made = map[string]unmogrowp.NewAppKeys{}
		errs = make(chan error, workers)
	)
	owners := make([]string, workers)
	for w := range owners {
		owners[w] = ownerID(t, s, fmt.Sprintf("user_%d", w))
	}
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				app := fullApp(fmt.Sprintf("W%dN%d", w, i), owners[w])
				keys, err := s.CreateApp(ctx, app)
				if err != nil {
					errs <- fmt.Errorf("CreateApp: %w", err)
					return
				}
				for _, k := range []struct {
					key  string
					kind unmogrowp.KeyKind
				}{{keys.SDKKey, unmogrowp.SDKKey}, {keys.ServerKey, unmogrowp.ServerKey}} {
					got, err := s.AppByKey(ctx, k.key, k.kind)
					if err != nil {
						errs <- fmt.Errorf("AppByKey right after CreateApp: %w", err)
						return
					}
					if got.ID != app.ID {
						errs <- fmt.Errorf("AppByKey returned app %s, want %s", got.ID, app.ID)
						return
					}
				}
				mu.Lock()
				made[app.ID] = keys
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	if len(made) != workers*perWorker {
		t.Fatalf("%d distinct app ids, want %d", len(made), workers*perWorker)
	}
	apps, err := s.Apps(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != workers*perWorker {
		t.Fatalf("Apps lists %d apps, want %d", len(apps), workers*perWorker)
	}
	for i, a := range apps {
		if keys, ok := made[a.ID]; !ok || keys.SDKKey != a.SDKKey {
			t.Fatalf("listed app %s was not made, or has another sdk key", a.ID)
		}
		if i > 0 {
			p := apps[i-1]
			if a.CreatedAt.Before(p.CreatedAt) || (a.CreatedAt.Equal(p.CreatedAt) && a.ID < p.ID) {
				t.Fatalf("Apps not ordered by created_at, id at %d: %s %v after %s %v",
					i, a.ID, a.CreatedAt, p.ID, p.CreatedAt)
			}
		}
	}
	for w := range workers {
		owned, err := s.Apps(ctx, owners[w])
		if err != nil {
			t.Fatal(err)
		}
		if len(owned) != perWorker {
			t.Errorf("user_%d owns %d apps, want %d", w, len(owned), perWorker)
		}
	}
}
