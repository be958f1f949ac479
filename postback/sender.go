package postback

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// DefaultTimeout is how long an attempt may take, from dialling to the answer's headers.
const DefaultTimeout = 10 * time.Second

// SenderOptions configure a Sender. The zero value is the production setting.
type SenderOptions struct {
	Timeout time.Duration // per attempt; 0: DefaultTimeout
	// AllowPrivate lets requests reach loopback, private, link-local and other
	// non-public addresses (POSTBACK_ALLOW_PRIVATE): for tests and closed networks.
	AllowPrivate bool
	// MaxConnsPerHost bounds the connections to one destination; 0: 16.
	MaxConnsPerHost int
}

// Sender makes one attempt of a delivery at a time per call: an HTTP client that follows
// no redirect, goes through no proxy, gives up after the timeout, and refuses non-public
// addresses at dial time. It is safe for concurrent use.
type Sender struct {
	client  *http.Client
	timeout time.Duration
	now     func() time.Time
}

// NewSender returns a Sender.
func NewSender(o SenderOptions) *Sender {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxConnsPerHost <= 0 {
		o.MaxConnsPerHost = 16
	}
	dialer := &net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second}
	if !o.AllowPrivate {
		dialer.Control = refuseNonPublic
	}
	transport := &http.Transport{
		Proxy:                 nil, // a proxy would dial for us, past the address check
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   o.MaxConnsPerHost,
		MaxConnsPerHost:       o.MaxConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   o.Timeout,
		ResponseHeaderTimeout: o.Timeout,
	}
	return &Sender{
		client: &http.Client{
			Transport:     transport,
			Timeout:       o.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		timeout: o.Timeout,
		now:     time.Now,
	}
}

// The keys of the headers Send sets, in the form http.Header keeps them.
var (
	canonicalUserAgent  = http.CanonicalHeaderKey("User-Agent")
	canonicalDeliveryID = http.CanonicalHeaderKey(HeaderDeliveryID)
	canonicalTimestamp  = http.CanonicalHeaderKey(HeaderTimestamp)
	canonicalSignature  = http.CanonicalHeaderKey(HeaderSignature)
	userAgentValue      = []string{userAgent} // shared: the transport only reads it
)

// Timeout is how long one attempt may take.
func (s *Sender) Timeout() time.Duration { return s.timeout }

// Results of an attempt.
const (
	Delivered = "delivered" // a 2xx answer
	Retry     = "retry"     // 408, 429, 5xx, no connection, no answer in time: worth another attempt
	Failed    = "failed"    // any other answer: another attempt would get the same
	Refused   = "refused"   // the destination's address is not public: never attempted
	Aborted   = "aborted"   // ctx was done: the attempt does not count
)

// Outcome is what one attempt came to.
type Outcome struct {
	Result     string // Delivered, Retry, Failed, Refused or Aborted
	HTTPStatus int    // the answer's status; 0 when there was none
	Error      string // why it did not deliver, in one sentence; "" when delivered
}

// Send makes one attempt of the delivery: its method, URL, headers and body, with
// X-UnMoGrowP-Delivery-Id, and when secret is not empty X-UnMoGrowP-Timestamp and
// X-UnMoGrowP-Signature (see Sign). It reads at most 64 KiB of the answer. The outcome's
// error never holds the secret or a header's value.
func (s *Sender) Send(ctx context.Context, d *unmogrowp.Delivery, secret string) Outcome {
	var body io.Reader = http.NoBody
	if len(d.Body) > 0 {
		body = bytes.NewReader(d.Body)
	}
	req, err := http.NewRequestWithContext(ctx, d.Method, d.URL, body)
	if err != nil {
		return Outcome{Result: Failed, Error: "The delivery's URL or method is not valid."}
	}
	// One map of the right size, the sender's own keys in canonical form already.
	h := make(http.Header, len(d.Headers)+4)
	for k, v := range d.Headers {
		h.Set(k, v)
	}
	h[canonicalUserAgent] = userAgentValue
	h[canonicalDeliveryID] = []string{d.ID}
	if secret != "" {
		ts := s.now().Unix()
		h[canonicalTimestamp] = []string{strconv.FormatInt(ts, 10)}
		h[canonicalSignature] = []string{Sign(secret, ts, d.Body)}
	}
	req.Header = h
	resp, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return Outcome{Result: Aborted, Error: "The attempt was stopped."}
		}
		return s.errorOutcome(err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return statusOutcome(resp.StatusCode)
}

// statusOutcome classifies an answer by its status.
func statusOutcome(code int) Outcome {
	o := Outcome{HTTPStatus: code}
	if code >= 200 && code < 300 {
		o.Result = Delivered
		return o
	}
	answered := fmt.Sprintf("The destination answered %d %s", code, http.StatusText(code))
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500:
		o.Result, o.Error = Retry, answered+"."
	case code >= 300 && code < 400:
		o.Result, o.Error = Failed, answered+": redirects are not followed."
	default:
		o.Result, o.Error = Failed, answered+"."
	}
	return o
}

// errorOutcome classifies a request that got no answer.
func (s *Sender) errorOutcome(err error) Outcome {
	var refused *RefusedError
	var dnsErr *net.DNSError
	var netErr net.Error
	var opErr *net.OpError
	var certErr *tls.CertificateVerificationError
	switch {
	case errors.As(err, &refused):
		return Outcome{Result: Refused, Error: fmt.Sprintf(
			"Refused to connect to %s, a %s address: postbacks may not reach the operator's network (POSTBACK_ALLOW_PRIVATE).",
			refused.Addr, refused.Reason)}
	case errors.As(err, &dnsErr):
		return Outcome{Result: Retry, Error: fmt.Sprintf("Could not resolve the host name %s.", dnsErr.Name)}
	case errors.As(err, &netErr) && netErr.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return Outcome{Result: Retry, Error: fmt.Sprintf("The destination did not answer within %s.", s.timeout)}
	case errors.As(err, &certErr):
		return Outcome{Result: Retry, Error: "The destination's TLS certificate is not valid: " + certErr.Err.Error() + "."}
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return Outcome{Result: Retry, Error: fmt.Sprintf("Could not connect to the destination: %v.", opErr.Err)}
	}
	// The innermost error: url.Error's text would repeat the URL.
	for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
		err = u
	}
	return Outcome{Result: Retry, Error: fmt.Sprintf("The request failed: %v.", err)}
}
