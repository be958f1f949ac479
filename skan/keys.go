package skan

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"

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
}

// Keys verifies postbacks against a table of keys. Its methods are safe for concurrent
// use.
type Keys struct {
	skan  *ecdsa.PublicKey // nil: no key verifies SKAdNetwork postbacks
	byKID map[string]key
}

// NewKeys parses the table. It returns an error naming the first key that is not a
// base64 DER P-256 public key.
func NewKeys(table []KeyData) (*Keys, error) {
	k := &Keys{byKID: map[string]key{}}
	for _, d := range table {
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
		k.byKID[d.KID] = key{pub: ec, environment: d.Environment}
		if d.SKAdNetwork {
			k.skan = ec
		}
	}
	return k, nil
}

// Apple returns the Keys of AppleKeys.
func Apple() *Keys {
	k, err := NewKeys(AppleKeys)
	if err != nil { // TestAppleKeys parses them: this cannot happen in a tested build
		panic(err)
	}
	return k
}
