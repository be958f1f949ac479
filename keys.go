package unmogrowp

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
)

// The prefixes of the ids of apps, links, users and postbacks, and of an app's secrets. The prefixes
// make a leaked key recognisable, for people and for secret scanners. Every metadata store
// makes ids and keys with the functions below, so they look the same whatever the store.
const (
	AppIDPrefix         = "app_"
	LinkIDPrefix        = "lk_"
	UserIDPrefix        = "usr_"
	PostbackIDPrefix    = "pb_"
	SDKKeyPrefix        = "pk_"
	ServerKeyPrefix     = "sk_"
	SigningSecretPrefix = "ss_"
)

// Lengths of an app's secrets after their prefix, in base62 characters.
const (
	sdkKeyLen        = 32 // about 190 bits
	serverKeyLen     = 40 // about 238 bits
	signingSecretLen = 40
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns prefix and 16 lowercase base32 characters of 80 random bits: short and
// URL-safe (a link's id is in its /c/{id} URL), and too many to guess another's.
func NewID(prefix string) (string, error) {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return prefix + idEncoding.EncodeToString(b[:]), nil
}

// GenerateAppKeys returns a fresh set of keys for an app.
func GenerateAppKeys() (NewAppKeys, error) {
	var k NewAppKeys
	var err error
	if k.SDKKey, err = newKey(SDKKeyPrefix, sdkKeyLen); err != nil {
		return k, err
	}
	if k.ServerKey, err = GenerateServerKey(); err != nil {
		return k, err
	}
	if k.SigningSecret, err = newKey(SigningSecretPrefix, signingSecretLen); err != nil {
		return k, err
	}
	return k, nil
}

// GenerateServerKey returns a fresh server key, for a new app or a rotation.
func GenerateServerKey() (string, error) { return newKey(ServerKeyPrefix, serverKeyLen) }

// HashServerKey returns the hex SHA-256 of a server key: what stores keep instead of the
// key. The key has over 200 random bits, so a fast unsalted hash is enough.
func HashServerKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// newKey returns prefix and n characters drawn uniformly from base62 with crypto/rand.
func newKey(prefix string, n int) (string, error) {
	out := make([]byte, 0, len(prefix)+n)
	out = append(out, prefix...)
	buf := make([]byte, n+n/4+8)
	for len(out) < len(prefix)+n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("random key: %w", err)
		}
		for _, b := range buf {
			// 248 = 4*62: rejecting bytes at or above it keeps the draw uniform.
			if b < 248 && len(out) < len(prefix)+n {
				out = append(out, base62[b%62])
			}
		}
	}
	return string(out), nil
}
