package skan

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"os"
	"reflect"
	"syscall"
	"testing"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/unmogrowp/unmogrowp"
)

// apple reads Apple's published example postbacks (testdata/apple.json): each was signed
// by Apple's key, so verifying them proves the signed string is Apple's.
func apple(t testing.TB) map[string]map[string]any {
	t.Helper()
	b, err := os.ReadFile("testdata/apple.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]map[string]any
	d := json.NewDecoder(bytesReader(b))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func body(t testing.TB, m map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func clone(m map[string]any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func TestAppleKeys(t *testing.T) {
	k, err := NewKeys(AppleKeys)
	if err != nil {
		t.Fatal(err)
	}
	if k.skan == nil || len(k.byKID) != len(AppleKeys) {
		t.Fatalf("keys: skan %v, %d kids", k.skan != nil, len(k.byKID))
	}
	if _, err := NewKeys([]KeyData{{KID: "x", DER: "bm90IGEga2V5"}}); err == nil {
		t.Fatal("a key that is not DER parsed")
	}
}

func TestAppleExamplesVerify(t *testing.T) {
	k := Apple()
	for name, m := range apple(t) {
		t.Run(name, func(t *testing.T) {
			p, err := k.Read(body(t, m))
			if err != nil {
				t.Fatal(err)
			}
			if p.Signature != unmogrowp.SignatureValid {
				t.Fatalf("signature %s, want valid", p.Signature)
			}
		})
	}
}

func TestAppleExampleFields(t *testing.T) {
	k := Apple()
	ex := apple(t)
	p, _ := k.Read(body(t, ex["4.0 web, fine value"]))
	want := unmogrowp.SKANPostback{
		Kind: unmogrowp.SKANKindSKAN, Version: "4.0", AdNetworkID: "com.example", SourceIdentifier: "5239",
		CampaignID: -1, AppStoreID: 525463029, SourceAppID: -1, SourceDomain: "example.com",
		PublisherItemIdentifier: -1, TransactionID: "6aafb7a5-0170-41b5-bbe4-fe71dedf1e30",
		PostbackSequenceIndex: 0, DidWin: 1, Redownload: 0, FidelityType: 1, ConversionValue: 63,
		Signature: unmogrowp.SignatureValid, Environment: unmogrowp.EnvironmentProduction,
	}
	if p != want {
		t.Fatalf("got  %+v\nwant %+v", p, want)
	}
	p, _ = k.Read(body(t, ex["AdAttributionKit, development key 1"]))
	want = unmogrowp.SKANPostback{
		Kind: unmogrowp.SKANKindAAK, AdNetworkID: "development.adattributionkit", SourceIdentifier: "1234",
		CampaignID: -1, AppStoreID: 10738027756, SourceAppID: -1, PublisherItemIdentifier: 0,
		PostbackIdentifier: "85546EB7-FD39-44BC-8990-C98A4AC36A49", PostbackSequenceIndex: 0, DidWin: 1,
		Redownload: -1, FidelityType: -1, ConversionValue: 24, ConversionType: "re-engagement",
		AdInteractionType: "click", CountryCode: "US",
		Signature: unmogrowp.SignatureValid, Environment: unmogrowp.EnvironmentDevelopment,
	}
	if p != want {
		t.Fatalf("got  %+v\nwant %+v", p, want)
	}
}

// TestSignedFieldChanged changes each signed field of Apple's examples in turn: none may
// verify. The unsigned conversion values may change and still verify.
func TestSignedFieldChanged(t *testing.T) {
	k := Apple()
	for name, m := range apple(t) {
		if _, ok := m["jws-string"]; ok {
			continue
		}
		for field := range signedFieldSet(m["version"].(string)) {
			if _, ok := m[field]; !ok {
				continue
			}
			t.Run(name+"/"+field, func(t *testing.T) {
				c := clone(m)
				switch v := c[field].(type) {
				case bool:
					c[field] = !v
				case json.Number:
					c[field] = json.Number("9" + string(v))
				case string:
					c[field] = v + "x"
				}
				if field == "version" { // another version's order over the same fields
					c[field] = map[string]string{"2.1": "2.2", "2.2": "3.0", "3.0": "4.0", "4.0": "3.0"}[v(m)]
				}
				if p, _ := k.Read(body(t, c)); p.Signature != unmogrowp.SignatureInvalid {
					t.Fatalf("signature %s with %s changed", p.Signature, field)
				}
			})
		}
		t.Run(name+"/conversion values", func(t *testing.T) {
			c := clone(m)
			c["conversion-value"] = 7
			c["coarse-conversion-value"] = "low"
			p, _ := k.Read(body(t, c))
			if p.Signature != unmogrowp.SignatureValid || p.ConversionValue != 7 || p.CoarseConversionValue != "low" {
				t.Fatalf("changed conversion values: %s %d %q", p.Signature, p.ConversionValue, p.CoarseConversionValue)
			}
		})
	}
}

func v(m map[string]any) string { return m["version"].(string) }

func signedFieldSet(version string) map[string]bool {
	set := map[string]bool{"attribution-signature": true, "source-app-id": true, "source-domain": true}
	for _, f := range signedFields[version] {
		set[f] = true
	}
	delete(set, "source")
	return set
}

func TestSKANEdges(t *testing.T) {
	k := Apple()
	ex := apple(t)["4.0 web, fine value"]
	for _, tc := range []struct {
		name string
		edit func(map[string]any)
		want string
	}{
		{"version 1.0", func(m map[string]any) { m["version"] = "1.0" }, unmogrowp.SignatureUnsupported},
		{"version 2.0", func(m map[string]any) { m["version"] = "2.0" }, unmogrowp.SignatureUnsupported},
		{"no version", func(m map[string]any) { delete(m, "version") }, unmogrowp.SignatureUnsupported},
		{"future version", func(m map[string]any) { m["version"] = "9.0" }, unmogrowp.SignatureUnsupported},
		{"no signature", func(m map[string]any) { delete(m, "attribution-signature") }, unmogrowp.SignatureInvalid},
		{"signature not base64", func(m map[string]any) { m["attribution-signature"] = "not base64!" }, unmogrowp.SignatureInvalid},
		{"missing signed field", func(m map[string]any) { delete(m, "app-id") }, unmogrowp.SignatureInvalid},
		{"separator in a value", func(m map[string]any) { m["ad-network-id"] = "com.example\u20635239" }, unmogrowp.SignatureInvalid},
		{"app-id as a string", func(m map[string]any) { m["app-id"] = "525463029" }, unmogrowp.SignatureValid},
		{"object for a field", func(m map[string]any) { m["fidelity-type"] = map[string]any{} }, unmogrowp.SignatureInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := clone(ex)
			tc.edit(c)
			p, err := k.Read(body(t, c))
			if err != nil || p.Signature != tc.want {
				t.Fatalf("signature %s err %v, want %s", p.Signature, err, tc.want)
			}
		})
	}
	for _, b := range []string{"", "[]", "null", "42", `"x"`, "{", "{}x"} {
		if _, err := k.Read([]byte(b)); unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
			t.Errorf("Read(%q): %v, want EINVALID", b, err)
		}
	}
	p, err := k.Read([]byte(`{}`))
	if err != nil || p.AppStoreID != unmogrowp.Absent || p.Signature != unmogrowp.SignatureUnsupported {
		t.Fatalf("empty object: %+v %v", p, err)
	}
}

// testKeys makes a production and a development key of our own, in a table as Apple's is.
func testKeys(t testing.TB) (*Keys, *ecdsa.PrivateKey, *ecdsa.PrivateKey) {
	t.Helper()
	var table []KeyData
	var privs []*ecdsa.PrivateKey
	for _, kid := range []string{"test-prod/0", "apple-development-identifier/9"} {
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		env := unmogrowp.EnvironmentProduction
		if kid != "test-prod/0" {
			env = unmogrowp.EnvironmentDevelopment
		}
		table = append(table, KeyData{KID: kid, Environment: env, SKAdNetwork: env == unmogrowp.EnvironmentProduction, DER: base64.StdEncoding.EncodeToString(der)})
		privs = append(privs, priv)
	}
	k, err := NewKeys(table)
	if err != nil {
		t.Fatal(err)
	}
	return k, privs[0], privs[1]
}

// SignJWS makes an AdAttributionKit compact JWS of payload with priv, named kid, as
// Apple's devices do.
func signJWS(t testing.TB, priv *ecdsa.PrivateKey, alg, kid string, payload map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(map[string]string{"alg": alg, "kid": kid})
	pl, _ := json.Marshal(payload)
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(pl)
	d := sha256.Sum256([]byte(in))
	r, s, err := ecdsa.Sign(rand.Reader, priv, d[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func aakPayloadMap() map[string]any {
	return map[string]any{
		"postback-identifier": "0F1E2D3C", "publisher-item-identifier": 466,
		"advertised-item-identifier": 525463029, "ad-network-identifier": "example.adattributionkit",
		"did-win": true, "postback-sequence-index": 1, "conversion-type": "download", "source-identifier": "5239",
	}
}

func TestAAK(t *testing.T) {
	k, prod, dev := testKeys(t)
	read := func(jws string, extra map[string]any) unmogrowp.SKANPostback {
		t.Helper()
		m := map[string]any{"jws-string": jws}
		for k, v := range extra {
			m[k] = v
		}
		p, err := k.Read(body(t, m))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := signJWS(t, prod, "ES256", "test-prod/0", aakPayloadMap())
	p := read(good, map[string]any{"coarse-conversion-value": "medium", "ad-interaction-type": "view"})
	if p.Signature != unmogrowp.SignatureValid || p.Environment != unmogrowp.EnvironmentProduction ||
		p.AppStoreID != 525463029 || p.PostbackIdentifier != "0F1E2D3C" || p.PublisherItemIdentifier != 466 ||
		p.Redownload != 0 || p.PostbackSequenceIndex != 1 || p.CoarseConversionValue != "medium" || p.Kind != unmogrowp.SKANKindAAK {
		t.Fatalf("good JWS: %+v", p)
	}
	if p := read(signJWS(t, dev, "ES256", "apple-development-identifier/9", aakPayloadMap()), nil); p.Signature != unmogrowp.SignatureValid || p.Environment != unmogrowp.EnvironmentDevelopment {
		t.Fatalf("development JWS: %s %s", p.Signature, p.Environment)
	}
	pl := aakPayloadMap()
	pl["did-win"] = false
	tampered := signJWS(t, prod, "ES256", "test-prod/0", pl)
	parts := splitJWS(good)
	swapped := parts[0] + "." + splitJWS(tampered)[1] + "." + parts[2]
	for name, jws := range map[string]string{
		"payload changed":   swapped,
		"wrong key":         signJWS(t, dev, "ES256", "test-prod/0", aakPayloadMap()),
		"unknown kid":       signJWS(t, prod, "ES256", "nobody/0", aakPayloadMap()),
		"alg none":          signJWS(t, prod, "none", "test-prod/0", aakPayloadMap()),
		"alg ES384":         signJWS(t, prod, "ES384", "test-prod/0", aakPayloadMap()),
		"two parts":         parts[0] + "." + parts[1],
		"short signature":   parts[0] + "." + parts[1] + "." + parts[2][:20],
		"header not base64": "!!." + parts[1] + "." + parts[2],
	} {
		t.Run(name, func(t *testing.T) {
			if p := read(jws, nil); p.Signature != unmogrowp.SignatureInvalid {
				t.Fatalf("signature %s", p.Signature)
			}
		})
	}
	// The payload is read whatever the signature, to find the app.
	if p := read(swapped, nil); p.AppStoreID != 525463029 || p.DidWin != 0 {
		t.Fatalf("tampered payload not read: %+v", p)
	}
	// Apple's development example is invalid against a table without its key.
	ex := apple(t)["AdAttributionKit, development key 1"]
	if p, _ := k.Read(body(t, ex)); p.Signature != unmogrowp.SignatureInvalid || p.Environment != unmogrowp.EnvironmentDevelopment {
		t.Fatalf("Apple's example against other keys: %s %s", p.Signature, p.Environment)
	}
}

func splitJWS(s string) [3]string {
	var out [3]string
	i := 0
	start := 0
	for j := range len(s) {
		if s[j] == '.' && i < 2 {
			out[i] = s[start:j]
			i++
			start = j + 1
		}
	}
	out[i] = s[start:]
	return out
}

// FuzzRead: any body, Read never panics, and what it returns is in range.
func FuzzRead(f *testing.F) {
	for _, m := range apple(f) {
		f.Add(body(f, m))
	}
	f.Add([]byte(`{"jws-string":"a.b.c"}`))
	f.Add([]byte(`{"version":"4.0","app-id":"-1","conversion-value":99}`))
	f.Add([]byte(`[1,2]`))
	k := Apple()
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := k.Read(b)
		if err != nil {
			return
		}
		if p.ConversionValue < -1 || p.ConversionValue > 63 {
			t.Fatalf("conversion value %d", p.ConversionValue)
		}
		switch p.Signature {
		case unmogrowp.SignatureValid, unmogrowp.SignatureInvalid, unmogrowp.SignatureUnsupported:
		default:
			t.Fatalf("signature %q", p.Signature)
		}
		for _, s := range []string{p.AdNetworkID, p.TransactionID, p.PostbackIdentifier, p.CountryCode} {
			if len(s) > maxFieldLen {
				t.Fatalf("field of %d bytes", len(s))
			}
		}
	})
}

// BenchmarkVerify measures reading and verifying one postback: skan4 and aak without the
// verification cache (every postback a new one), copy with it (the second copy of a
// postback, as a network forwards what Apple's device also sent). The keys' comb tables
// are built before the timer, once, as a server builds them on its first postbacks.
// cpu-µs/op is the process's CPU time a postback: on a shared machine, what the code
// costs when the wall clock also counts waiting for a core.
func BenchmarkVerify(b *testing.B) {
	appleKeys, err := NewKeysCache(AppleKeys, 0)
	if err != nil {
		b.Fatal(err)
	}
	skanBody := body(b, apple(b)["4.0 web, fine value"])
	tk, prod, _ := testKeys(b)
	uncachedTest, err := NewKeysCache([]KeyData{{KID: "test-prod/0", Environment: unmogrowp.EnvironmentProduction, DER: derOf(b, prod)}}, 0)
	if err != nil {
		b.Fatal(err)
	}
	aakBody := body(b, map[string]any{"jws-string": signJWS(b, prod, "ES256", "test-prod/0", aakPayloadMap()), "conversion-value": 12})
	for _, bc := range []struct {
		name string
		k    *Keys
		body []byte
	}{{"skan4", appleKeys, skanBody}, {"aak", uncachedTest, aakBody}, {"copy", tk, aakBody}} {
		bc.k.Read(bc.body) // builds the key's table (and fills the cache of copy)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := cpuTime(b)
			for b.Loop() {
				if p, _ := bc.k.Read(bc.body); p.Signature != unmogrowp.SignatureValid {
					b.Fatal(p.Signature)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "postbacks/s")
			b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// cpuTime is the process's CPU time so far, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func derOf(t testing.TB, priv *ecdsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// FuzzDecodeMatchesStdlib checks that the fast JSON decoder Read uses (goccy/go-json)
// reads every body as encoding/json does: the same error or none, and the same raw value
// of every field, for both the outer body and AdAttributionKit's payload.
func FuzzDecodeMatchesStdlib(f *testing.F) {
	for _, m := range apple(f) {
		f.Add(body(f, m))
	}
	f.Add([]byte(`{"postback-identifier":"x","did-win":true,"advertised-item-identifier":1e3}`))
	f.Add([]byte(`{"Version":"4.0","VERSION":"3.0","app-id":[1,{"a":null}]}`))
	f.Add([]byte("{\"version\":\"\xff\",\"ad-network-id\":\"a\\u2063b\"}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast, std wire
		errFast, errStd := gojson.Unmarshal(b, &fast), json.Unmarshal(b, &std)
		if (errFast == nil) != (errStd == nil) {
			t.Fatalf("goccy error %v, encoding/json error %v", errFast, errStd)
		}
		if errStd == nil && !reflect.DeepEqual(fast, std) {
			t.Fatalf("goccy read %+v, encoding/json %+v", fast, std)
		}
		var fastPL, stdPL aakPayload
		errFast, errStd = gojson.Unmarshal(b, &fastPL), json.Unmarshal(b, &stdPL)
		if (errFast == nil) != (errStd == nil) {
			t.Fatalf("payload: goccy error %v, encoding/json error %v", errFast, errStd)
		}
		if errStd == nil && !reflect.DeepEqual(fastPL, stdPL) {
			t.Fatalf("payload: goccy read %+v, encoding/json %+v", fastPL, stdPL)
		}
	})
}

// TestVerifyCache checks the verification cache: a second copy of a postback, with another
// (unsigned) conversion value, is answered from the cache with the first's result; a copy
// with a signed field changed is verified anew and invalid; without a cache each is
// verified.
func TestVerifyCache(t *testing.T) {
	ex := apple(t)["4.0 web, fine value"]
	k := Apple()
	first, _ := k.Read(body(t, ex))
	copyMsg := clone(ex)
	copyMsg["conversion-value"] = 7
	second, _ := k.Read(body(t, copyMsg))
	if first.Signature != unmogrowp.SignatureValid || second.Signature != unmogrowp.SignatureValid || second.ConversionValue != 7 {
		t.Fatalf("first %s, copy %s (cv %d): want both valid", first.Signature, second.Signature, second.ConversionValue)
	}
	if n := k.verified.Len(); n != 1 {
		t.Fatalf("cache holds %d results after two copies of one postback, want 1", n)
	}
	changed := clone(ex)
	changed["source-identifier"] = "5240"
	if p, _ := k.Read(body(t, changed)); p.Signature != unmogrowp.SignatureInvalid {
		t.Fatalf("signed field changed after a cached copy: %s, want invalid", p.Signature)
	}
	if p, _ := k.Read(body(t, changed)); p.Signature != unmogrowp.SignatureInvalid || k.verified.Len() != 2 {
		t.Fatalf("changed again: %s, cache %d", p.Signature, k.verified.Len())
	}
	none, err := NewKeysCache(AppleKeys, 0)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := none.Read(body(t, ex)); p.Signature != unmogrowp.SignatureValid || none.verified != nil {
		t.Fatalf("without a cache: %s", p.Signature)
	}
}

// TestRSDER checks the DER that an AdAttributionKit r‖s signature is verified as against
// encoding/asn1's, for integers with a leading zero byte, the high bit set, and both.
func TestRSDER(t *testing.T) {
	for _, tc := range [][2][]byte{
		{bytes.Repeat([]byte{0x7f}, 32), bytes.Repeat([]byte{0x80}, 32)},
		{append([]byte{0, 0, 0x80}, bytes.Repeat([]byte{1}, 29)...), append([]byte{0}, bytes.Repeat([]byte{0xff}, 31)...)},
		{append(make([]byte, 31), 1), bytes.Repeat([]byte{0x01}, 32)},
	} {
		want, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(tc[0]), new(big.Int).SetBytes(tc[1])})
		if err != nil {
			t.Fatal(err)
		}
		if got := appendRSDER(nil, tc[0], tc[1]); !bytes.Equal(got, want) {
			t.Errorf("r %x s %x: DER %x, want %x", tc[0], tc[1], got, want)
		}
	}
}
