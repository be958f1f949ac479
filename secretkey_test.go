package unmogrowp

import (
	"bytes"
	"strings"
	"testing"
)

const testSecretsKey = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// The key parses from hex and every base64 alphabet, and nothing else.
func TestParseSecretKey(t *testing.T) {
	for _, s := range []string{
		testSecretsKey,
		"ASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4mrze8=", // standard, padded
		"ASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4mrze8",  // unpadded
		"  ASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4mrze8=\n",
	} {
		k, err := ParseSecretKey(s)
		if err != nil {
			t.Fatalf("ParseSecretKey(%q): %v", s, err)
		}
		// Every spelling is the same key: what one seals, the hex one opens.
		hexKey, _ := ParseSecretKey(testSecretsKey)
		if got, err := hexKey.Open(k.Seal("s3cr3t", "app_1"), "app_1"); err != nil || got != "s3cr3t" {
			t.Fatalf("%q is another key than the hex one: %q, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "short", testSecretsKey[:62], strings.Repeat("A", 40), "ASNFZ4mrze8BI0VniavN7w=="} {
		if _, err := ParseSecretKey(s); err == nil || !strings.Contains(err.Error(), "SECRETS_KEY must be 32 random bytes") {
			t.Errorf("ParseSecretKey(%q) = %v, want the error that says what a key is", s, err)
		}
	}
}

// Seal is randomized and bound to its context; Open refuses another key, another context
// and any altered byte.
func TestSecretKeySealOpen(t *testing.T) {
	k, _ := ParseSecretKey(testSecretsKey)
	other, _ := ParseSecretKey(strings.Repeat("f", 64))
	a, b := k.Seal("wJalrXUtnFEMI/K7MDENG", "app_1"), k.Seal("wJalrXUtnFEMI/K7MDENG", "app_1")
	if bytes.Equal(a, b) || bytes.Contains(a, []byte("wJalr")) {
		t.Fatal("two seals of one secret are equal, or hold it in the clear")
	}
	if got, err := k.Open(a, "app_1"); err != nil || got != "wJalrXUtnFEMI/K7MDENG" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := k.Open(a, "app_2"); err == nil {
		t.Error("opened with another context")
	}
	if _, err := other.Open(a, "app_1"); err == nil {
		t.Error("opened with another key")
	}
	for i := range a {
		c := bytes.Clone(a)
		c[i] ^= 1
		if _, err := k.Open(c, "app_1"); err == nil {
			t.Fatalf("opened with byte %d altered", i)
		}
	}
	if _, err := k.Open(nil, "app_1"); err == nil {
		t.Error("opened nothing")
	}
}

// FuzzSecretKeyOpen: Open of any bytes returns an error or, only for what Seal made, the
// secret; it never panics.
func FuzzSecretKeyOpen(f *testing.F) {
	k, _ := ParseSecretKey(testSecretsKey)
	f.Add(k.Seal("secret", "app_1"), "app_1")
	f.Add([]byte{1}, "")
	f.Add([]byte{}, "app_1")
	f.Fuzz(func(t *testing.T, sealed []byte, context string) {
		if got, err := k.Open(sealed, context); err == nil && got != "secret" {
			t.Fatalf("Open of fuzzed bytes = %q", got)
		}
	})
}
