package sqlite

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// The prefixes and lengths (after the prefix) of the ids of apps, links and users, and of
// an app's secrets. The prefixes make a leaked key recognisable, for people and for secret
// scanners.
const (
	appIDPrefix         = "app_"
	linkIDPrefix        = "lk_"
	userIDPrefix        = "usr_"
	sdkKeyPrefix        = "pk_"
	serverKeyPrefix     = "sk_"
	signingSecretPrefix = "ss_"

	sdkKeyLen        = 32 // base62: about 190 bits
	serverKeyLen     = 40 // base62: about 238 bits
	signingSecretLen = 40
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomBase62 returns n characters drawn uniformly from base62 with crypto/rand.
func randomBase62(n int) (string, error) {
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/4+8)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("random key: %w", err)
		}
		for _, b := range buf {
			// 248 = 4*62: rejecting bytes at or above it keeps the draw uniform.
			if b < 248 && len(out) < n {
				out = append(out, base62[b%62])
			}
		}
	}
	return string(out), nil
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newAppID returns "app_" and 16 lowercase base32 characters (80 random bits).
func newAppID() (string, error) { return newID(appIDPrefix) }

// newLinkID returns "lk_" and 16 lowercase base32 characters (80 random bits): short and
// URL-safe for /c/{id}, and too many to guess a link of another app.
func newLinkID() (string, error) { return newID(linkIDPrefix) }

// newID returns prefix and 16 lowercase base32 characters of 80 random bits.
func newID(prefix string) (string, error) {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return prefix + idEncoding.EncodeToString(b[:]), nil
}

// newAppKeys returns a fresh set of keys for an app.
func newAppKeys() (unmogrowp.NewAppKeys, error) {
	var k unmogrowp.NewAppKeys
	var err error
	if k.SDKKey, err = newKey(sdkKeyPrefix, sdkKeyLen); err != nil {
		return k, err
	}
	if k.ServerKey, err = newKey(serverKeyPrefix, serverKeyLen); err != nil {
		return k, err
	}
	if k.SigningSecret, err = newKey(signingSecretPrefix, signingSecretLen); err != nil {
		return k, err
	}
	return k, nil
}

func newKey(prefix string, n int) (string, error) {
	s, err := randomBase62(n)
	if err != nil {
		return "", err
	}
	return prefix + s, nil
}

// hashServerKey returns the hex SHA-256 of a server key: what the store keeps instead of
// the key. The key has over 200 random bits, so a fast unsalted hash is enough.
func hashServerKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}
