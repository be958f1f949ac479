// Package mailtest runs a real SMTP server on loopback (github.com/emersion/go-smtp) for
// tests of what the product mails: it offers STARTTLS or implicit TLS with a certificate
// of its own, takes AUTH PLAIN with one user, and keeps every message it receives.
package mailtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// The credentials the server takes.
const (
	User     = "mailer"
	Password = "s3cret pass"
)

// Message is a message the server received.
type Message struct {
	From    string   // the envelope sender (MAIL FROM)
	To      []string // the envelope recipients (RCPT TO)
	TLS     bool     // whether it came over TLS
	Authed  bool     // whether the client signed in with AUTH
	Header  mail.Header
	Subject string // decoded
	Body    string // decoded from quoted-printable, \r\n as \n
	Raw     string
}

// Server is a running SMTP server.
type Server struct {
	t        *testing.T
	srv      *smtp.Server
	addr     string
	implicit bool
	roots    *x509.CertPool

	mu       sync.Mutex
	messages []Message
	arrived  chan struct{}
}

// Options choose how the server listens.
type Options struct {
	// ImplicitTLS makes the server speak TLS from the first byte (smtps://); else it offers
	// STARTTLS, unless NoTLS.
	ImplicitTLS bool
	// NoTLS makes the server offer no TLS at all (and take AUTH over plain text).
	NoTLS bool
}

// Start runs a server on 127.0.0.1, stopped when t ends.
func Start(t *testing.T, o Options) *Server {
	t.Helper()
	cert, roots := selfSigned(t)
	s := &Server{t: t, implicit: o.ImplicitTLS, roots: roots, arrived: make(chan struct{}, 100)}
	s.srv = smtp.NewServer(backend{s})
	s.srv.Domain = "localhost"
	s.srv.ReadTimeout, s.srv.WriteTimeout = 10*time.Second, 10*time.Second
	s.srv.AllowInsecureAuth = o.NoTLS
	if !o.NoTLS {
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.ImplicitTLS {
		ln = tls.NewListener(ln, s.srv.TLSConfig)
	}
	s.addr = ln.Addr().String()
	go s.srv.Serve(ln)
	t.Cleanup(func() { s.srv.Close() })
	return s
}

// URL returns the server's SMTP URL with its credentials: smtps:// for implicit TLS,
// smtp:// otherwise.
func (s *Server) URL() string {
	scheme := "smtp"
	if s.implicit {
		scheme = "smtps"
	}
	return scheme + "://" + User + ":" + strings.ReplaceAll(Password, " ", "%20") + "@" + s.addr
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return s.addr }

// TLSConfig returns a client configuration that trusts the server's certificate.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.roots, ServerName: "127.0.0.1"}
}

// Wait returns the next message received (in order), failing the test if none comes
// within 10 seconds.
func (s *Server) Wait(t *testing.T) Message {
	t.Helper()
	select {
	case <-s.arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("no mail arrived within 10 s")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.messages[0]
	s.messages = s.messages[1:]
	return m
}

// Count returns how many messages arrived and were not taken by Wait.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.messages)
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &session{s: b.s, msg: Message{TLS: isTLS}, conn: c}, nil
}

type session struct {
	s    *Server
	conn *smtp.Conn
	msg  Message
}

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != User || pass != Password {
			return errors.New("invalid credentials")
		}
		ss.msg.Authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if !ss.msg.Authed {
		return smtp.ErrAuthRequired
	}
	ss.msg.From = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.msg.To = append(ss.msg.To, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := ss.msg
	_, m.TLS = ss.conn.TLSConnectionState()
	m.Raw = string(raw)
	parsed, err := mail.ReadMessage(strings.NewReader(m.Raw))
	if err != nil {
		return err
	}
	m.Header = parsed.Header
	if m.Subject, err = new(mime.WordDecoder).DecodeHeader(parsed.Header.Get("Subject")); err != nil {
		return err
	}
	var body io.Reader = parsed.Body
	if strings.EqualFold(parsed.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	m.Body = strings.ReplaceAll(string(b), "\r\n", "\n")
	ss.s.mu.Lock()
	ss.s.messages = append(ss.s.messages, m)
	ss.s.mu.Unlock()
	ss.s.arrived <- struct{}{}
	return nil
}

func (ss *session) Reset()        { ss.msg = Message{Authed: ss.msg.Authed} }
func (ss *session) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and localhost, and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailtest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: c}, pool
}
