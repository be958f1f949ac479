package skan

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/binary"
	"math/big"

	"filippo.io/nistec"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// combBits is the width of a window of the fixed-key comb: each window costs one point
// addition, and each key's table holds 2^(combBits-1) points a window.
const combBits = 10

// combWindows is how many windows a scalar below 2^256 has, with room for the carry that
// signed digits push out of the top one.
const combWindows = (256 + combBits) / combBits

// combTable is a fixed-base comb for one public key Q: entry [i][j] is
// (j+1)·2^(combBits·i)·Q, Jacobian points of nistec (P-256 with the standard library's
// assembly). With it, u·Q costs at most combWindows (26) point additions and no doubling,
// where a multiplication by an arbitrary point (crypto/ecdsa's) costs 256 doublings and
// about 52 additions. It holds 26×512 points, 1.2 MiB, and takes about 13,000 additions
// (about 10 ms of CPU) to build. 8-bit windows (33 additions, 396 KiB) measured about 10 %
// slower a verification; 11 and 12 bits no faster.
type combTable [combWindows][1 << (combBits - 1)]nistec.P256Point

// newCombTable builds the comb of pub, a P-256 key.
func newCombTable(pub *ecdsa.PublicKey) (*combTable, error) {
	b, err := pub.Bytes()
	if err != nil {
		return nil, err
	}
	base, err := nistec.NewP256Point().SetBytes(b)
	if err != nil {
		return nil, err
	}
	t := new(combTable)
	for i := range t {
		t[i][0].Set(base)
		for j := 1; j < len(t[i]); j++ {
			t[i][j].Add(&t[i][j-1], base)
		}
		base.Double(&t[i][len(t[i])-1]) // 2^(w-1)·2^(wi)·Q doubled: 2^(w(i+1))·Q
	}
	return t, nil
}

// p256N is the order of P-256's group.
var p256N = elliptic.P256().Params().N

// verifyASN1 is crypto/ecdsa.VerifyASN1 for the table's key and a 32-byte digest: it
// reports whether sig, an ASN.1 DER ECDSA signature read as the standard library reads
// it, is valid. FuzzCombMatchesStdlib checks that they agree.
func (t *combTable) verifyASN1(digest *[32]byte, sig []byte) bool {
	var inner cryptobyte.String
	var r, s []byte
	input := cryptobyte.String(sig)
	if !input.ReadASN1(&inner, asn1.SEQUENCE) || !input.Empty() ||
		!inner.ReadASN1Integer(&r) || !inner.ReadASN1Integer(&s) || !inner.Empty() {
		return false
	}
	return t.verify(digest, r, s)
}

// verify checks the ECDSA signature (r, s), big-endian unsigned integers, of digest
// (FIPS 186-5, 6.4.2): r and s must be in [1, n-1]; with e the digest mod n and
// w = s⁻¹ mod n, the point X = (e·w)·G + (r·w)·Q must not be the point at infinity and
// its x mod n must be r. Nothing here is secret: it is not constant time.
func (t *combTable) verify(digest *[32]byte, rb, sb []byte) bool {
	var r, s, e, w, u1, u2 big.Int
	r.SetBytes(rb)
	s.SetBytes(sb)
	if r.Sign() <= 0 || r.Cmp(p256N) >= 0 || s.Sign() <= 0 || s.Cmp(p256N) >= 0 {
		return false
	}
	e.SetBytes(digest[:])
	if e.Cmp(p256N) >= 0 {
		e.Sub(&e, p256N)
	}
	if w.ModInverse(&s, p256N) == nil { // s is not 0 mod the prime n: cannot happen
		return false
	}
	u1.Mul(&e, &w).Mod(&u1, p256N)
	u2.Mul(&r, &w).Mod(&u2, p256N)
	var u1b [32]byte
	x, err := nistec.NewP256Point().ScalarBaseMult(u1.FillBytes(u1b[:]))
	if err != nil {
		return false
	}
	t.addMult(x, &u2)
	xb, err := x.BytesX() // an error for the point at infinity
	if err != nil {
		return false
	}
	var v big.Int
	v.SetBytes(xb)
	if v.Cmp(p256N) >= 0 { // x < p < 2n
		v.Sub(&v, p256N)
	}
	return v.Cmp(&r) == 0
}

// addMult adds u·Q to acc, for 0 ≤ u < 2^256: one addition for each nonzero digit of u
// written in base 2^combBits with digits from -2^(combBits-1)+1 to 2^(combBits-1).
func (t *combTable) addMult(acc *nistec.P256Point, u *big.Int) {
	var ub [32]byte
	u.FillBytes(ub[:])
	var limbs [5]uint64 // little-endian, with a zero limb above
	for i := range 4 {
		limbs[i] = binary.BigEndian.Uint64(ub[24-8*i:])
	}
	var neg nistec.P256Point
	carry := 0
	for i := range combWindows {
		off := uint(i * combBits)
		v := limbs[off/64] >> (off % 64)
		if off%64+combBits > 64 {
			v |= limbs[off/64+1] << (64 - off%64)
		}
		d := int(v&(1<<combBits-1)) + carry
		carry = 0
		if d > 1<<(combBits-1) {
			d -= 1 << combBits
			carry = 1
		}
		switch {
		case d > 0:
			acc.Add(acc, &t[i][d-1])
		case d < 0:
			acc.Add(acc, neg.Negate(&t[i][-d-1]))
		}
	}
}
