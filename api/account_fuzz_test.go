package api

import (
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// FuzzSecondFactor feeds login codes and recovery codes as a client may send them: a TOTP
// code matches only its own step or one either side, and only as 6 digits (spaces
// allowed); a recovery code normalizes to lower-case letters and digits without dashes or
// spaces, never panicking.
func FuzzSecondFactor(f *testing.F) {
	const secret = "JBSWY3DPEHPK3PXP"
	at := time.Unix(1_700_000_000, 0)
	good, err := totp.GenerateCodeCustom(secret, at, totpOpts())
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{good, " " + good[:3] + " " + good[3:] + " ", "000000", "12345", "1234567", "abcdef", "", "\x00\xff", "ABCDE-fghjk"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, code string) {
		step, err := totpStep(secret, code, at)
		if err == nil {
			if d := step - at.Unix()/totpPeriod; d < -1 || d > 1 {
				t.Errorf("code %q matched step %d, %d from now", code, step, d)
			}
			if digits := strings.ReplaceAll(strings.TrimSpace(code), " ", ""); len(digits) != 6 {
				t.Errorf("code %q of %d digits matched", code, len(digits))
			}
		}
		n := normalizeRecoveryCode(code)
		if strings.ContainsAny(n, "- ") || n != strings.ToLower(n) {
			t.Errorf("normalizeRecoveryCode(%q) = %q", code, n)
		}
	})
}
