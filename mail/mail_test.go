package mail_test

import (
	"context"
	"strings"
	"testing"

	"github.com/unmogrowp/unmogrowp/internal/mailtest"
	"github.com/unmogrowp/unmogrowp/mail"
)

// TestSend sends a message through a real SMTP server on loopback, by each kind of URL,
// and checks what the server received: over TLS (STARTTLS or implicit) and signed in,
// the envelope, the headers, and a subject and body that survive non-ASCII text and an
// attempt to add a header.
func TestSend(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    mailtest.Options
		url     func(s *mailtest.Server) string
		wantTLS bool
	}{
		{"starttls", mailtest.Options{}, (*mailtest.Server).URL, true},
		{"implicit-tls", mailtest.Options{ImplicitTLS: true}, (*mailtest.Server).URL, true},
		{"starttls-off-loopback", mailtest.Options{NoTLS: true}, func(s *mailtest.Server) string { return s.URL() + "?starttls=off" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := mailtest.Start(t, tc.opts)
			s, err := mail.New(mail.Options{URL: tc.url(srv), From: "UnMoGrowP <noreply@example.com>", TLSConfig: srv.TLSConfig()})
			if err != nil {
				t.Fatal(err)
			}
			err = s.Send(context.Background(), mail.Message{To: "ann@example.com", Subject: "Join «Game»\r\nBcc: eve@example.com",
				Text: "Hello Ann,\n\nopen https://dash.example.com/invitations/accept?token=uin_abc=def\n"})
			if err != nil {
				t.Fatal(err)
			}
			m := srv.Wait(t)
			if m.TLS != tc.wantTLS || !m.Authed || m.From != "noreply@example.com" || len(m.To) != 1 || m.To[0] != "ann@example.com" {
				t.Errorf("envelope: tls %v authed %v from %q to %v", m.TLS, m.Authed, m.From, m.To)
			}
			if m.Subject != "Join «Game» Bcc: eve@example.com" || m.Header.Get("Bcc") != "" || m.Header.Get("To") != "<ann@example.com>" ||
				!strings.Contains(m.Header.Get("From"), "noreply@example.com") || m.Header.Get("Message-Id") == "" {
				t.Errorf("headers: subject %q, %v", m.Subject, m.Header)
			}
			if m.Body != "Hello Ann,\n\nopen https://dash.example.com/invitations/accept?token=uin_abc=def\n" {
				t.Errorf("body = %q", m.Body)
			}
		})
	}
}

// TestSendRefused: a server without STARTTLS is refused for smtp:// (no downgrade to
// plain text), wrong credentials fail, and a bad recipient fails before connecting.
func TestSendRefused(t *testing.T) {
	plain := mailtest.Start(t, mailtest.Options{NoTLS: true})
	s, err := mail.New(mail.Options{URL: plain.URL(), From: "noreply@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), mail.Message{To: "ann@example.com", Subject: "x", Text: "x"}); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("smtp:// to a server without STARTTLS: %v, want an error naming STARTTLS", err)
	}
	tlsSrv := mailtest.Start(t, mailtest.Options{})
	wrong := strings.Replace(tlsSrv.URL(), "s3cret", "wrong", 1)
	s, err = mail.New(mail.Options{URL: wrong, From: "noreply@example.com", TLSConfig: tlsSrv.TLSConfig()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), mail.Message{To: "ann@example.com", Subject: "x", Text: "x"}); err == nil || !strings.Contains(err.Error(), "auth") {
		t.Errorf("wrong password: %v, want an auth error", err)
	}
	if err := s.Send(context.Background(), mail.Message{To: "not an address", Subject: "x", Text: "x"}); err == nil {
		t.Error("a bad recipient was sent")
	}
	if n := plain.Count() + tlsSrv.Count(); n != 0 {
		t.Errorf("%d messages arrived, want none", n)
	}
}

// TestNew checks the URL and sender rules.
func TestNew(t *testing.T) {
	for _, tc := range []struct {
		url, from, wantErr string
	}{
		{"smtp://u:p@mail.example.com", "noreply@example.com", ""},
		{"smtps://mail.example.com", "UnMoGrowP <noreply@example.com>", ""},
		{"smtp://localhost:25?starttls=off", "noreply@example.com", ""},
		{"smtp://u:p@127.0.0.1:25?starttls=off", "noreply@example.com", ""},
		{"smtp://u:p@mail.example.com?starttls=off", "noreply@example.com", "password"},
		{"smtps://mail.example.com?starttls=off", "noreply@example.com", "starttls"},
		{"smtp://mail.example.com?x=1", "noreply@example.com", "query"},
		{"http://mail.example.com", "noreply@example.com", "scheme"},
		{"smtp:///path", "noreply@example.com", "smtp://"},
		{"smtp://mail.example.com", "", "From"},
		{"smtp://mail.example.com", "no at sign", "From"},
	} {
		s, err := mail.New(mail.Options{URL: tc.url, From: tc.from})
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("New(%q, %q): %v", tc.url, tc.from, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("New(%q, %q) = %v, want an error naming %q", tc.url, tc.from, err, tc.wantErr)
		case err == nil && strings.Contains(s.Addr(), "p@"):
			t.Errorf("Addr %q shows the credentials", s.Addr())
		}
	}
}
