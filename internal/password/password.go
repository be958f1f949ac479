// Package password hashes and checks users' passwords with argon2id (RFC 9106), at or above
// OWASP's minimum parameters, encoded in the PHC string format.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// DefaultParams are OWASP's minimum for argon2id: 19 MiB, two passes, one lane.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1}

// The salt and hash lengths, in bytes.
const (
	SaltLen = 16
	KeyLen  = 32
)

// ErrMismatch is what Verify returns for a wrong password.
var ErrMismatch = errors.New("password does not match")

// dummyHash is a hash of a random password, made with DefaultParams, which Verify checks
// instead when there is no hash (an unknown email, or a user without a password), so that
// the answer takes as long as for a real user. TestDummyHash keeps it in step with
// DefaultParams.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$FzlB8pthrtw5PSpZUvbFmw$dS38lGNUWUfktjNOKlvwuv6jyPq/wT+FwF7rMwaE0CU"

var b64 = base64.RawStdEncoding

// Hash returns the encoded argon2id hash of the password with a fresh random salt and
// DefaultParams: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>, both in unpadded base64.
func Hash(password string) (string, error) {
	return HashWith(password, DefaultParams)
}

// HashWith is Hash with other parameters.
func HashWith(password string, p Params) (string, error) {
	salt := make([]byte, SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify checks the password against an encoded hash, comparing in constant time. It
// returns nil if they match and ErrMismatch if not. An empty encoded hash (no such user,
// or a user without a password) is checked against a dummy hash, which costs the same and
// never matches. Any other error means the encoded hash is malformed.
func Verify(password, encoded string) error {
	if encoded == "" {
		_ = verify(password, dummyHash)
		return ErrMismatch
	}
	return verify(password, encoded)
}

func verify(password, encoded string) error {
	p, salt, key, err := Decode(encoded)
	if err != nil {
		return err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return ErrMismatch
	}
	return nil
}

// Decode parses an encoded argon2id hash into its parameters, salt and key.
func Decode(encoded string) (Params, []byte, []byte, error) {
	var p Params
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errors.New("decode password hash: not an encoded argon2id hash")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, fmt.Errorf("decode password hash: unsupported version %q", parts[2])
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil ||
		p.Memory < 8*uint32(p.Threads) || p.Time < 1 || p.Threads < 1 || p.Memory > 4<<20 || p.Time > 100 {
		return p, nil, nil, fmt.Errorf("decode password hash: bad parameters %q", parts[3])
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return p, nil, nil, errors.New("decode password hash: bad salt")
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, errors.New("decode password hash: bad hash")
	}
	return p, salt, key, nil
}
