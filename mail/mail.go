// Package mail sends the API's mail, invitations and password-reset links, through an
// SMTP server named by one URL: smtp://user:pass@host:port, which must upgrade to TLS
// with STARTTLS, smtps://user:pass@host:port, TLS from the first byte, or
// smtp://host:port?starttls=off for a relay without TLS (then without a password unless
// the relay is on a loopback address).
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Default ports: submission with STARTTLS for smtp://, submissions for smtps:// (RFC 8314).
const (
	DefaultPort    = "587"
	DefaultTLSPort = "465"
)

// DefaultTimeout bounds one Send, connection to QUIT, when its context has no deadline.
const DefaultTimeout = 30 * time.Second

// Message is one plain-text mail to one recipient.
type Message struct {
	To      string // an address, such as ann@example.com
	Subject string
	Text    string // the body, plain text; lines end in \n
}

// Options configure a Sender.
type Options struct {
	// URL names the server: smtp:// or smtps://, with the user name and password of SMTP
	// AUTH PLAIN if it needs them. Required.
	URL string
	// From is the sender, as the From header shows it: "UnMoGrowP <noreply@example.com>"
	// or an address alone. Required.
	From string
	// TLSConfig verifies the server's certificate (nil: the system's roots, the URL's
	// host as the server name). Tests give one that trusts their own server.
	TLSConfig *tls.Config
}

// Sender sends messages through one SMTP server. It is safe for concurrent use: each
// Send is its own connection.
type Sender struct {
	addr        string // host:port
	host        string
	implicitTLS bool
	noTLS       bool // starttls=off
	user, pass  string
	hasAuth     bool
	from        *mail.Address
	tlsConfig   *tls.Config
}

// New checks the options and returns a sender. It does not connect.
func New(o Options) (*Sender, error) {
	u, err := url.Parse(o.URL)
	if err != nil {
		return nil, errors.New("SMTP URL is not a URL; use smtp://user:pass@host:587 or smtps://user:pass@host:465")
	}
	s := &Sender{}
	port := DefaultPort
	switch u.Scheme {
	case "smtp":
	case "smtps":
		s.implicitTLS, port = true, DefaultTLSPort
	default:
		return nil, fmt.Errorf("SMTP URL scheme must be smtp or smtps, not %q", u.Scheme)
	}
	s.host = u.Hostname()
	if s.host == "" || (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return nil, errors.New("SMTP URL must be smtp://user:pass@host:port or smtps://user:pass@host:port, without a path")
	}
	q := u.Query()
	switch v := q.Get("starttls"); {
	case len(q) > 1 || (len(q) == 1 && !q.Has("starttls")):
		return nil, errors.New("SMTP URL takes one query parameter, starttls=off")
	case v == "off" && !s.implicitTLS:
		s.noTLS = true
	case q.Has("starttls"):
		return nil, errors.New("SMTP URL's starttls may only be off, and only with smtp://")
	}
	if p := u.Port(); p != "" {
		port = p
	}
	s.addr = net.JoinHostPort(s.host, port)
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
		s.hasAuth = s.user != ""
	}
	if s.hasAuth && s.noTLS && !isLoopback(s.host) {
		return nil, errors.New("SMTP URL with starttls=off may not carry a password, but to a relay on a loopback address: it would go in clear")
	}
	if s.from, err = mail.ParseAddress(o.From); err != nil {
		return nil, fmt.Errorf("SMTP sender (From) must be an address such as \"UnMoGrowP <noreply@example.com>\": %v", err)
	}
	s.tlsConfig = o.TLSConfig
	if s.tlsConfig == nil {
		s.tlsConfig = &tls.Config{}
	}
	s.tlsConfig = s.tlsConfig.Clone()
	if s.tlsConfig.ServerName == "" {
		s.tlsConfig.ServerName = s.host
	}
	if s.tlsConfig.MinVersion == 0 {
		s.tlsConfig.MinVersion = tls.VersionTLS12
	}
	return s, nil
}

// Addr returns the server's host:port, for logs (never the password).
func (s *Sender) Addr() string { return s.addr }

// Send delivers m to the server, in one connection: TLS from the start (smtps://) or by
// STARTTLS (smtp://; an error if the server does not offer it, unless starttls=off), AUTH
// PLAIN when the URL has a user, then the message. ctx bounds the whole exchange
// (DefaultTimeout if it has no deadline).
func (s *Sender) Send(ctx context.Context, m Message) error {
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return fmt.Errorf("send mail: recipient %q: %w", m.To, err)
	}
	body, err := s.compose(to, m)
	if err != nil {
		return fmt.Errorf("send mail: %w", err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	if err := s.send(ctx, to.Address, body); err != nil {
		return fmt.Errorf("send mail through %s: %w", s.addr, err)
	}
	return nil
}

func (s *Sender) send(ctx context.Context, to string, body []byte) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return err
	}
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		conn.Close()
		return err
	}
	var c *smtp.Client
	switch {
	case s.implicitTLS:
		tc := tls.Client(conn, s.tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return fmt.Errorf("tls: %w", err)
		}
		c = smtp.NewClient(tc)
	case s.noTLS:
		c = smtp.NewClient(conn)
	default:
		if c, err = smtp.NewClientStartTLS(conn, s.tlsConfig); err != nil {
			conn.Close()
			return fmt.Errorf("starttls (set starttls=off in the URL for a relay without TLS): %w", err)
		}
	}
	defer c.Close()
	if s.hasAuth {
		if err := c.Auth(sasl.NewPlainClient("", s.user, s.pass)); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if err := c.SendMail(s.from.Address, []string{to}, bytes.NewReader(body)); err != nil {
		return err
	}
	return c.Quit()
}

// compose returns the message in RFC 5322 form, CRLF line ends, its body
// quoted-printable UTF-8 and its subject RFC 2047-encoded, so that no header can be
// broken by what it carries.
func (s *Sender) compose(to *mail.Address, m Message) ([]byte, error) {
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	_, domain, _ := strings.Cut(s.from.Address, "@")
	subject := strings.Join(strings.Fields(m.Subject), " ") // no line break can reach the header
	var b bytes.Buffer
	for _, h := range [][2]string{
		{"From", s.from.String()},
		{"To", to.String()},
		{"Subject", mime.QEncoding.Encode("utf-8", subject)},
		{"Date", time.Now().Format(time.RFC1123Z)},
		{"Message-ID", "<" + hex.EncodeToString(id) + "@" + domain + ">"},
		{"MIME-Version", "1.0"},
		{"Content-Type", "text/plain; charset=utf-8"},
		{"Content-Transfer-Encoding", "quoted-printable"},
	} {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	text := strings.ReplaceAll(strings.ReplaceAll(m.Text, "\r\n", "\n"), "\n", "\r\n")
	if _, err := qp.Write([]byte(text)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
