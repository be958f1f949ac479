package skan

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
)

// fixedTestKey is a P-256 key of our own, the same in every run, so that the fuzz
// seeds in testdata/fuzz hold signatures that verify.
func fixedTestKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	d := sha256.Sum256([]byte("skan comb test key"))
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d[:])
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

// combKeys are the public keys the differential tests verify with: Apple's and
// fixedTestKey, each with its comb table.
func combKeys(t testing.TB) ([]*ecdsa.PublicKey, []*combTable) {
	t.Helper()
	k, err := NewKeysCache(AppleKeys, 0)
	if err != nil {
		t.Fatal(err)
	}
	var pubs []*ecdsa.PublicKey
	for _, d := range AppleKeys {
		pubs = append(pubs, k.byKID[d.KID].pub)
	}
	pubs = append(pubs, &fixedTestKey(t).PublicKey)
	tables := make([]*combTable, len(pubs))
	for i, pub := range pubs {
		if tables[i], err = newCombTable(pub); err != nil {
			t.Fatal(err)
		}
	}
	return pubs, tables
}

// checkComb compares the comb's answer for (msg, sig) under key i with crypto/ecdsa's,
// and returns it; a 64-byte sig is also compared read as r‖s.
func checkComb(t *testing.T, pubs []*ecdsa.PublicKey, tables []*combTable, i int, msg, sig []byte) bool {
	t.Helper()
	d := sha256.Sum256(msg)
	want := ecdsa.VerifyASN1(pubs[i], d[:], sig)
	if got := tables[i].verifyASN1(&d, sig); got != want {
		t.Fatalf("key %d, message %q, signature %x: comb says %v, crypto/ecdsa %v", i, msg, sig, got, want)
	}
	if len(sig) == 64 { // also as AdAttributionKit's r‖s
		rs := ecdsa.VerifyASN1(pubs[i], d[:], appendRSDER(nil, sig[:32], sig[32:]))
		if got := tables[i].verify(&d, sig[:32], sig[32:]); got != rs {
			t.Fatalf("key %d, message %q, r‖s %x: comb says %v, crypto/ecdsa %v", i, msg, sig, got, rs)
		}
	}
	return want
}

// derSig is the DER of the ECDSA signature (r, s), which may be out of range.
func derSig(t testing.TB, r, s *big.Int) []byte {
	t.Helper()
	b, err := asn1.Marshal(struct{ R, S *big.Int }{r, s})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCombMatchesStdlib checks the fixed-key verification against crypto/ecdsa.VerifyASN1
// on signatures made to probe it: valid ones (which must verify), every byte of the
// signature and of the message flipped, r and s at 0, 1, n-1, n and n+1, the high-s
// twin (n-s, which ECDSA accepts), malformed DER, the other keys, and Apple's published
// examples. Each answer must be crypto/ecdsa's; valid ones must verify and flipped ones
// must not.
func TestCombMatchesStdlib(t *testing.T) {
	pubs, tables := combKeys(t)
	n := elliptic.P256().Params().N
	test := len(pubs) - 1
	priv := fixedTestKey(t)
	for round := range 8 {
		msg := make([]byte, 20+round)
		if _, err := rand.Read(msg); err != nil {
			t.Fatal(err)
		}
		d := sha256.Sum256(msg)
		r, s, err := ecdsa.Sign(rand.Reader, priv, d[:])
		if err != nil {
			t.Fatal(err)
		}
		sig := derSig(t, r, s)
		if !checkComb(t, pubs, tables, test, msg, sig) {
			t.Fatal("a valid signature did not verify")
		}
		raw := make([]byte, 64)
		r.FillBytes(raw[:32])
		s.FillBytes(raw[32:])
		checkComb(t, pubs, tables, test, msg, raw)
		if !tables[test].verify(&d, raw[:32], raw[32:]) {
			t.Fatal("a valid r‖s signature did not verify")
		}
		for i := range raw {
			b := append([]byte(nil), raw...)
			b[i] ^= 0x01
			checkComb(t, pubs, tables, test, msg, b)
		}
		for i := range sig {
			for _, x := range []byte{0x01, 0x80, 0xff} {
				b := append([]byte(nil), sig...)
				b[i] ^= x
				checkComb(t, pubs, tables, test, msg, b)
			}
		}
		for i := range msg {
			b := append([]byte(nil), msg...)
			b[i] ^= 0x01
			if checkComb(t, pubs, tables, test, b, sig) {
				t.Fatalf("message byte %d flipped: verified", i)
			}
		}
		if !checkComb(t, pubs, tables, test, msg, derSig(t, r, new(big.Int).Sub(n, s))) {
			t.Fatal("the high-s twin did not verify")
		}
		one := big.NewInt(1)
		for _, v := range []*big.Int{big.NewInt(0), one, new(big.Int).Sub(n, one), n, new(big.Int).Add(n, one), new(big.Int).Lsh(one, 256)} {
			checkComb(t, pubs, tables, test, msg, derSig(t, v, s))
			checkComb(t, pubs, tables, test, msg, derSig(t, r, v))
			checkComb(t, pubs, tables, test, msg, derSig(t, new(big.Int).Add(r, n), s))
		}
		for i := range test {
			if checkComb(t, pubs, tables, i, msg, sig) {
				t.Fatalf("verified under Apple's key %d", i)
			}
		}
		for _, b := range [][]byte{nil, {0x30, 0x00}, sig[:len(sig)-1], append(append([]byte(nil), sig...), 0), derSig(t, new(big.Int).Neg(r), s)} {
			checkComb(t, pubs, tables, test, msg, b)
		}
	}
	// Apple's SKAdNetwork and AdAttributionKit examples, signed by Apple's keys.
	for name, m := range apple(t) {
		if jws, ok := m["jws-string"].(string); ok {
			parts := strings.Split(jws, ".")
			raw, err := base64.RawURLEncoding.DecodeString(parts[2])
			if err != nil {
				t.Fatal(err)
			}
			sig := derSig(t, new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:]))
			if !checkComb(t, pubs, tables, 2, []byte(parts[0]+"."+parts[1]), sig) {
				t.Fatalf("%s: did not verify", name)
			}
			continue
		}
		var w wire
		if err := json.Unmarshal(body(t, m), &w); err != nil {
			t.Fatal(err)
		}
		v, _ := text(w.Version)
		msg, ok := appendSigned(nil, &w, signedFields[v], v)
		sigText, _ := text(w.AttributionSignature)
		sig, err := base64.StdEncoding.DecodeString(sigText)
		if !ok || err != nil || !checkComb(t, pubs, tables, 0, msg, sig) {
			t.Fatalf("%s: did not verify (%v %v)", name, ok, err)
		}
		if checkComb(t, pubs, tables, 1, msg, sig) {
			t.Fatalf("%s: verified under a development key", name)
		}
	}
}

// FuzzCombMatchesStdlib: for any message and signature bytes, under any of the keys,
// the fixed-key verification answers as crypto/ecdsa.VerifyASN1 does. The seeds
// (testdata/fuzz) hold valid signatures by fixedTestKey for the fuzzer to mutate.
func FuzzCombMatchesStdlib(f *testing.F) {
	pubs, tables := combKeys(f)
	priv := fixedTestKey(f)
	for _, msg := range []string{"", "skan", "version\u2063ad-network-id"} {
		d := sha256.Sum256([]byte(msg))
		sig, err := ecdsa.SignASN1(rand.Reader, priv, d[:])
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(len(pubs)-1), []byte(msg), sig)
	}
	f.Fuzz(func(t *testing.T, key uint8, msg, sig []byte) {
		checkComb(t, pubs, tables, int(key)%len(pubs), msg, sig)
	})
}

// BenchmarkCombVerify measures one P-256 verification, with the key's comb table and
// with crypto/ecdsa.VerifyASN1, of the same signature.
func BenchmarkCombVerify(b *testing.B) {
	priv := fixedTestKey(b)
	table, err := newCombTable(&priv.PublicKey)
	if err != nil {
		b.Fatal(err)
	}
	d := sha256.Sum256([]byte("skan"))
	sig, err := ecdsa.SignASN1(rand.Reader, priv, d[:])
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name   string
		verify func() bool
	}{
		{"comb", func() bool { return table.verifyASN1(&d, sig) }},
		{"stdlib", func() bool { return ecdsa.VerifyASN1(&priv.PublicKey, d[:], sig) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := cpuTime(b)
			for b.Loop() {
				if !bc.verify() {
					b.Fatal("did not verify")
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
			b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
	b.Run("build", func(b *testing.B) {
		cpu := cpuTime(b)
		for b.Loop() {
			if _, err := newCombTable(&priv.PublicKey); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
	})
}
