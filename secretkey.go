package unmogrowp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// SecretKey encrypts the secrets the metadata store keeps for the server (a scheduled
// export's secret access key) with AES-256-GCM. It is the SECRETS_KEY setting: 32 random
// bytes written as 64 hexadecimal digits or as base64 (standard or URL alphabet, padded
// or not), such as `openssl rand -base64 32` prints.
type SecretKey struct{ aead cipher.AEAD }

// sealVersion is the first byte of what Seal returns: the scheme (AES-256-GCM, a random
// 12-byte nonce after it, then the ciphertext and its tag).
const sealVersion = 1

// ParseSecretKey parses the SECRETS_KEY setting. It returns an error that says what is
// expected for anything but 32 bytes in hex or base64.
func ParseSecretKey(s string) (*SecretKey, error) {
	s = strings.TrimSpace(s)
	var key []byte
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		key = b
	} else {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
				key = b
				break
			}
		}
	}
	if key == nil {
		return nil, errors.New("SECRETS_KEY must be 32 random bytes in base64 (openssl rand -base64 32) or as 64 hexadecimal digits")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secrets key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secrets key: %w", err)
	}
	return &SecretKey{aead: aead}, nil
}

// Seal encrypts plain, bound to context (such as the id of the app that owns the secret):
// Open must be given the same context.
func (k *SecretKey) Seal(plain, context string) []byte {
	out := make([]byte, 1+k.aead.NonceSize(), 1+k.aead.NonceSize()+len(plain)+k.aead.Overhead())
	out[0] = sealVersion
	_, _ = rand.Read(out[1:]) // crypto/rand never fails (Go 1.24+)
	return k.aead.Seal(out, out[1:], []byte(plain), []byte(context))
}

// Open decrypts what Seal returned for context. It returns an error when sealed was not
// sealed by this key for this context, or was altered.
func (k *SecretKey) Open(sealed []byte, context string) (string, error) {
	n := k.aead.NonceSize()
	if len(sealed) < 1+n+k.aead.Overhead() || sealed[0] != sealVersion {
		return "", errors.New("open secret: not a sealed secret")
	}
	plain, err := k.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(context))
	if err != nil {
		return "", errors.New("open secret: sealed by another SECRETS_KEY, or altered")
	}
	return string(plain), nil
}
