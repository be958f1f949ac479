package skan

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/unmogrowp/unmogrowp"
)

// KeyData is one of Apple's published public keys: its kid (AdAttributionKit's JWS
// header names the key by it), the environment of what it signs, whether it also signs
// SKAdNetwork postbacks, and the key itself, base64 of its DER (SubjectPublicKeyInfo).
type KeyData struct {
	KID         string
	Environment string // unmogrowp.EnvironmentProduction or EnvironmentDevelopment
	SKAdNetwork bool   // the key of SKAdNetwork 2.1 and later
	DER         string
}

// AppleKeys are Apple's published P-256 keys (SKAN.md, "Verification"). A new key is one
// more line here.
var AppleKeys = []KeyData{
	{"apple-cas-identifier/0", unmogrowp.EnvironmentProduction, true, "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEWdp8GPcGqmhgzEFj9Z2nSpQVddayaPe4FMzqM9wib1+aHaaIzoHoLN9zW4K8y4SPykE3YVK3sVqW6Af0lfx3gg=="},
	{"apple-development-identifier/0", unmogrowp.EnvironmentDevelopment, false, "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAELeEDzpJEP+/qRSE5hJVC1p1J0ssUnQGMzBBbvnACBok8OVGGLgxL0myrKiy6lvRtSlLRsWit87i+vftD8AEqeQ=="},
	{"apple-development-identifier/1", unmogrowp.EnvironmentDevelopment, false, "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8YzdO7eM97s/IJ25kdW5CZ3A14USE5IJ5Ha/vhWaxI6UBI1ZxCEvjrKxVluVGe6qWwF1BDFq+QHqKfH5u+wxHQ=="},
}

// key is a parsed key.
type key struct {
	pub         *ecdsa.PublicKey
	environment string
	index       byte // its place in the table, which tells keys apart in the cache
	// comb returns the key's precomputed table, built on the first call (a few
	// milliseconds); nil if it could not be, and crypto/ecdsa verifies.
	comb func() *combTable
}

// Keys verifies postbacks against a table of keys. Its methods are safe for concurrent
// use.
type Keys struct {
	skan  *key // nil: no key verifies SKAdNetwork postbacks
	byKID map[string]key
	// verified remembers what verifying recent (key, signed message, signature) triples
	// found: Apple's copy of a postback and a network's forwarded copy carry the same
	// signature over the same message, and a device that got no 200 sends its postback
	// again. nil: no cache.
	verified *lru.Cache[[sha256.Size]byte, bool]
}

// VerifyCacheSize is how many verification results Keys remember by default (about 100
// bytes each).
const VerifyCacheSize = 1 << 16

// NewKeys parses the table, and remembers the results of the last VerifyCacheSize
// verifications. It returns an error naming the first key that is not a base64 DER P-256
// public key.
func NewKeys(table []KeyData) (*Keys, error) {
	return NewKeysCache(table, VerifyCacheSize)
}

// NewKeysCache is NewKeys remembering the results of the last cacheSize verifications;
// none when cacheSize is 0.
func NewKeysCache(table []KeyData, cacheSize int) (*Keys, error) {
	if len(table) > 256 {
		return nil, fmt.Errorf("%d keys: at most 256", len(table))
	}
	k := &Keys{byKID: map[string]key{}}
	if cacheSize > 0 {
		c, err := lru.New[[sha256.Size]byte, bool](cacheSize)
		if err != nil {
			return nil, fmt.Errorf("verification cache: %w", err)
		}
		k.verified = c
	}
	for i, d := range table {
		der, err := base64.StdEncoding.DecodeString(d.DER)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", d.KID, err)
		}
		pub, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", d.KID, err)
		}
		ec, ok := pub.(*ecdsa.PublicKey)
		if !ok || ec.Curve.Params().Name != "P-256" {
			return nil, fmt.Errorf("key %s: not a P-256 key", d.KID)
		}
		k.byKID[d.KID] = key{pub: ec, environment: d.Environment, index: byte(i), comb: sync.OnceValue(func() *combTable {
			t, err := newCombTable(ec)
			if err != nil {
				return nil
			}
			return t
		})}
		if d.SKAdNetwork {
			sk := k.byKID[d.KID]
			k.skan = &sk
		}
	}
	return k, nil
}

// verify reports whether sig, ASN.1 DER or (rs true) the raw 64-byte r‖s, is key's
// signature of digest, from the cache when this triple was verified recently.
func (k *Keys) verify(key *key, digest [sha256.Size]byte, sig []byte, rs bool) bool {
	var id [sha256.Size]byte
	if k.verified != nil {
		h := sha256.New()
		h.Write([]byte{key.index, boolByte(rs)})
		h.Write(digest[:])
		h.Write(sig)
		h.Sum(id[:0])
		if ok, hit := k.verified.Get(id); hit {
			return ok
		}
	}
	var ok bool
	if t := key.comb(); t != nil && rs {
		ok = len(sig) == 64 && t.verify(&digest, sig[:32], sig[32:])
	} else if t != nil {
		ok = t.verifyASN1(&digest, sig)
	} else if rs {
		var der [80]byte
		ok = len(sig) == 64 && ecdsa.VerifyASN1(key.pub, digest[:], appendRSDER(der[:0], sig[:32], sig[32:]))
	} else {
		ok = ecdsa.VerifyASN1(key.pub, digest[:], sig)
	}
	if k.verified != nil {
		k.verified.Add(id, ok)
	}
	return ok
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// appendRSDER appends the ASN.1 DER of the ECDSA signature (r, s), big-endian unsigned
// integers: SEQUENCE { INTEGER r, INTEGER s }.
func appendRSDER(dst, r, s []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, n := range [][]byte{r, s} {
			b.AddASN1(asn1.INTEGER, func(b *cryptobyte.Builder) {
				for len(n) > 1 && n[0] == 0 {
					n = n[1:]
				}
				if len(n) == 0 || n[0]&0x80 != 0 {
					b.AddUint8(0) // positive
				}
				b.AddBytes(n)
			})
		}
	})
	return append(dst, b.BytesOrPanic()...)
}

// Apple returns the Keys of AppleKeys.
func Apple() *Keys {
	k, err := NewKeys(AppleKeys)
	if err != nil { // TestAppleKeys parses them: this cannot happen in a tested build
		panic(err)
	}
	return k
}
