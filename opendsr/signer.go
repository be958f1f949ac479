package opendsr

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Signature headers: OpenDSR's, and the OpenGDPR names it keeps answering to.
const (
	HeaderSignature        = "X-OpenDSR-Signature"
	HeaderProcessorDomain  = "X-OpenDSR-Processor-Domain"
	HeaderGDPRSignature    = "X-OpenGDPR-Signature"
	HeaderGDPRProcessorDom = "X-OpenGDPR-Processor-Domain"
)

// KeyStore keeps the processor's key pair, made once for every process.
type KeyStore interface {
	ProcessorKey(ctx context.Context, generate func() (key, cert []byte, err error)) (key, cert []byte, err error)
}

// Signer signs callbacks and answers with the processor's RSA key: the spec's scheme, a
// base64 RSASSA-PKCS1-v1_5 signature of the SHA-256 digest of the body, verifiable with
// the certificate's public key.
type Signer struct {
	key  *rsa.PrivateKey
	cert []byte // PEM
}

// LoadSigner returns the signer of the key pair in store, made (2048-bit RSA, and a
// self-signed certificate for commonName, valid ten years) the first time.
func LoadSigner(ctx context.Context, store KeyStore, commonName string) (*Signer, error) {
	keyPEM, certPEM, err := store.ProcessorKey(ctx, func() ([]byte, []byte, error) { return generate(commonName) })
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, errors.New("opendsr: the stored processor key is not PEM")
	}
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("opendsr: the stored processor key: %w", err)
	}
	return &Signer{key: key, cert: certPEM}, nil
}

// generate makes a key pair and its self-signed certificate, both PEM.
func generate(commonName string) (keyPEM, certPEM []byte, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: commonName, Organization: []string{"UnMoGrowP OpenDSR processor"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return keyPEM, certPEM, nil
}

// Certificate returns the certificate, PEM: what the discovery's processor_certificate
// URL serves.
func (s *Signer) Certificate() []byte { return s.cert }

// Sign returns the signature of body for HeaderSignature.
func (s *Signer) Sign(body []byte) string {
	sum := sha256.Sum256(body)
	sig, err := rsa.SignPKCS1v15(nil, s.key, crypto.SHA256, sum[:])
	if err != nil {
		panic("opendsr: sign: " + err.Error()) // only for a key too small for SHA-256, which generate never makes
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// Verify checks a signature of body against the PEM certificate: what a controller does
// with a callback (tests use it).
func Verify(certPEM, body []byte, signature string) error {
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return errors.New("opendsr: the certificate is not PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return err
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return errors.New("opendsr: the certificate's key is not RSA")
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return fmt.Errorf("opendsr: the signature is not base64: %w", err)
	}
	sum := sha256.Sum256(body)
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig)
}
