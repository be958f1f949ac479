package password

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

var encodedFormat = regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashVerify(t *testing.T) {
	start := time.Now()
	h, err := Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("argon2id hash (m=19 MiB, t=2, p=1) took %v", time.Since(start))
	if !encodedFormat.MatchString(h) {
		t.Fatalf("encoded hash %q has the wrong format", h)
	}
	h2, err := Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if h == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	start = time.Now()
	if err := Verify("correct horse battery staple", h); err != nil {
		t.Errorf("Verify(right password) = %v", err)
	}
	t.Logf("argon2id verify took %v", time.Since(start))
	for _, wrong := range []string{"", "correct horse battery stapl", "Correct horse battery staple", "correct horse battery staple "} {
		if err := Verify(wrong, h); !errors.Is(err, ErrMismatch) {
			t.Errorf("Verify(%q) = %v, want ErrMismatch", wrong, err)
		}
	}
}

// TestDummyHash keeps the dummy hash in step with DefaultParams, so that checking it costs
// what checking a real hash does.
func TestDummyHash(t *testing.T) {
	p, salt, key, err := Decode(dummyHash)
	if err != nil {
		t.Fatal(err)
	}
	if p != DefaultParams || len(salt) != SaltLen || len(key) != KeyLen {
		t.Fatalf("dummy hash has params %+v, salt %d, key %d bytes; want %+v, %d, %d", p, len(salt), len(key), DefaultParams, SaltLen, KeyLen)
	}
	for _, pw := range []string{"", "password", "correct horse battery staple"} {
		if err := Verify(pw, ""); !errors.Is(err, ErrMismatch) {
			t.Errorf("Verify(%q, \"\") = %v, want ErrMismatch", pw, err)
		}
	}
}

func TestDecodeMalformed(t *testing.T) {
	good, err := Hash("password")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	for _, tc := range []struct{ name, encoded string }{
		{"Garbage", "not a hash"},
		{"Bcrypt", "$2a$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"},
		{"Argon2i", strings.Replace(good, "argon2id", "argon2i", 1)},
		{"Version", strings.Replace(good, "v=19", "v=16", 1)},
		{"NoParams", strings.Join([]string{"", parts[1], parts[2], "x", parts[4], parts[5]}, "$")},
		{"HugeMemory", strings.Replace(good, "m=19456", "m=99999999", 1)},
		{"BadSalt", strings.Join([]string{"", parts[1], parts[2], parts[3], "!!!", parts[5]}, "$")},
		{"ShortKey", strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "AAAA"}, "$")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify("password", tc.encoded)
			if err == nil || errors.Is(err, ErrMismatch) {
				t.Errorf("Verify on %q = %v, want a decode error", tc.encoded, err)
			}
		})
	}
}

func BenchmarkHash(b *testing.B) {
	for b.Loop() {
		if _, err := Hash("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
}
