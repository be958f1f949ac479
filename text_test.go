package unmogrowp

import (
	"math"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// FuzzValidateName checks ValidateName, whose ASCII path reads eight bytes at a time,
// against the rule it implements, rune by rune: valid UTF-8 and no control character.
func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"", "purchase", "evt-0123456789abcdef", "0123456\x7f", "01234567\x00", "0123456\xff",
		"abcdefg\x1fabcdefgh", "abcdefgh\x20\x7e", "dévice-ü-😀-0123456789", "0123456789abcdef\u0085"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		ok := utf8.ValidString(v) && !strings.ContainsFunc(v, unicode.IsControl)
		err := ValidateName("f", v)
		if ok != (err == nil) {
			t.Fatalf("ValidateName(%q) = %v, want ok %v", v, err, ok)
		}
		if err != nil && ErrorCode(err) != EINVALID {
			t.Fatalf("ValidateName(%q) = %v, want EINVALID", v, err)
		}
	})
}

func TestValidateName(t *testing.T) {
	for _, v := range []string{"", "purchase", "dévice-ü-😀", "a b", "\uFFFD", "0123456789abcdef~ ", "evt-00000000-0000-4000-8000-000000000000"} {
		if err := ValidateName("x", v); err != nil {
			t.Errorf("ValidateName(%q) = %v, want nil", v, err)
		}
	}
	for v, want := range map[string]string{
		"\x00":           "control characters",
		"a\tb":           "control characters",
		"a\x7f":          "control characters",
		"0123456\x7f":    "control characters", // in the eight-byte path
		"0123456789\x1f": "control characters",
		"01234567\xff":   "valid UTF-8",
		"é\u0085":        "control characters", // C1, after a rune that is not ASCII
		"d\xff":          "valid UTF-8",
		"\xc3":           "valid UTF-8",
		"ü\xed\xa0\x80":  "valid UTF-8", // an encoded surrogate
	} {
		err := ValidateName("device_id", v)
		if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), want) || !strings.HasPrefix(ErrorMessage(err), "device_id ") {
			t.Errorf("ValidateName(%q) = %v, want EINVALID naming device_id, %q", v, err, want)
		}
	}
	if err := ValidateText("user_agent", "Mozilla/5.0\t(x)"); err != nil {
		t.Errorf("ValidateText of a tab: %v", err)
	}
	if err := ValidateText("user_agent", "Mozilla\xff"); ErrorCode(err) != EINVALID {
		t.Errorf("ValidateText of invalid UTF-8: %v", err)
	}
}

// TestEventValidateRefuses checks that what an event must not hold is refused naming the
// field, never mended: revenue beyond the bound or not finite, ids that are not UTF-8 or
// hold control characters.
func TestEventValidateRefuses(t *testing.T) {
	now := time.Date(2025, 10, 21, 14, 20, 0, 0, time.UTC)
	valid := func() Event { return Event{EventType: "purchase", DeviceID: "d"} }
	for name, tc := range map[string]struct {
		change func(*Event)
		want   string
	}{
		"revenue 1e303":             {func(e *Event) { e.Revenue, e.HasRevenue, e.Currency = 1e303, true, "USD" }, "revenue must be a finite number from -1000000000 to 1000000000"},
		"revenue above the bound":   {func(e *Event) { e.Revenue, e.HasRevenue, e.Currency = math.Nextafter(MaxRevenue, 2e9), true, "USD" }, "revenue"},
		"revenue below the bound":   {func(e *Event) { e.Revenue, e.HasRevenue, e.Currency = -2e9, true, "USD" }, "revenue"},
		"revenue +Inf":              {func(e *Event) { e.Revenue, e.HasRevenue, e.Currency = math.Inf(1), true, "USD" }, "revenue"},
		"revenue NaN":               {func(e *Event) { e.Revenue, e.HasRevenue, e.Currency = math.NaN(), true, "USD" }, "revenue"},
		"a lone NUL as event type":  {func(e *Event) { e.EventType = "\x00" }, "event_type must not hold control characters"},
		"a newline in the event id": {func(e *Event) { e.EventID = "a\nb" }, "event_id must not hold control characters"},
		"invalid UTF-8 device id":   {func(e *Event) { e.DeviceID = "d\xff" }, "device_id must be valid UTF-8"},
		"invalid UTF-8 user id":     {func(e *Event) { e.UserID = "\xc0\xaf" }, "user_id must be valid UTF-8"},
		"a control char in idfv":    {func(e *Event) { e.IDFV = "\x1b[31m" }, "idfv must not hold control characters"},
		"invalid UTF-8 user agent":  {func(e *Event) { e.UserAgent = "UA\xfe" }, "user_agent must be valid UTF-8"},
		"invalid UTF-8 referrer":    {func(e *Event) { e.InstallReferrer = "pid=\xfe" }, "install_referrer must be valid UTF-8"},
	} {
		e := valid()
		tc.change(&e)
		err := e.Validate(now, 0)
		if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), tc.want) {
			t.Errorf("%s: Validate = %v, want EINVALID with %q", name, err, tc.want)
		}
	}
	for _, r := range []float64{MaxRevenue, -MaxRevenue, 0, -0.01, math.SmallestNonzeroFloat64} {
		e := valid()
		e.Revenue, e.HasRevenue, e.Currency = r, true, "usd"
		if err := e.Validate(now, 0); err != nil || e.Revenue != r {
			t.Errorf("revenue %v: %v, kept %v", r, err, e.Revenue)
		}
	}
	e := valid()
	e.DeviceID, e.UserAgent = "appareil-é-😀", "Mozilla/5.0 (iPhone)\t"
	if err := e.Validate(now, 0); err != nil {
		t.Errorf("ids of UTF-8 and a tab in the user agent: %v", err)
	}
}

func TestTouchpointAndLinkRefuseText(t *testing.T) {
	now := time.Date(2025, 10, 21, 14, 20, 0, 0, time.UTC)
	for name, tc := range map[string]struct {
		tp   Touchpoint
		want string
	}{
		"NUL media source":        {Touchpoint{Type: TouchClick, MediaSource: "\x00"}, "media_source must not hold control characters"},
		"invalid UTF-8 device id": {Touchpoint{Type: TouchClick, MediaSource: "n", DeviceID: "\xff"}, "device_id must be valid UTF-8"},
		"invalid UTF-8 campaign":  {Touchpoint{Type: TouchClick, MediaSource: "n", Campaign: "c\xff"}, "campaign must be valid UTF-8"},
		"a control char in sub3":  {Touchpoint{Type: TouchClick, MediaSource: "n", Sub: [5]string{2: "\r"}}, "sub3 must not hold control characters"},
		"invalid UTF-8 UA":        {Touchpoint{Type: TouchClick, MediaSource: "n", UserAgent: "\xff"}, "user_agent must be valid UTF-8"},
	} {
		err := tc.tp.Validate(now, 0)
		if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), tc.want) {
			t.Errorf("%s: Validate = %v, want EINVALID with %q", name, err, tc.want)
		}
	}
	for name, l := range map[string]Link{
		"media_source": {MediaSource: "fb\x00"},
		"campaign":     {MediaSource: "fb", Campaign: "c\xff"},
	} {
		if err := l.Validate(); ErrorCode(err) != EINVALID || !strings.HasPrefix(ErrorMessage(err), name+" ") {
			t.Errorf("link with a bad %s: %v", name, err)
		}
	}
}

// BenchmarkValidateName validates the names and ids of a typical event: an event id, a
// device id, an event type, a session id, an app version and a device model.
func BenchmarkValidateName(b *testing.B) {
	names := []string{"6f1c2a9e-3b7d-4c1e-9a2f-0d8e5b4c3a21", "a3f9c2e1-7b6d-4e5f-8a9b-1c2d3e4f5a6b",
		"purchase", "sess-000123456", "4.12.0", "Pixel 8 Pro"}
	for b.Loop() {
		for _, v := range names {
			if err := ValidateName("f", v); err != nil {
				b.Fatal(err)
			}
		}
	}
}
