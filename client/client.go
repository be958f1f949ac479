// Package client is UnMoGrowP's Go client for servers: it sends events to the ingestion
// listener's POST /v1/events/batch and touchpoints to POST /v1/touchpoints with the app's
// server key, in batches, from a bounded queue, retrying failed requests with the same
// event ids so that the server stores each event once.
//
//	c := client.New(client.Config{Endpoint: "https://t.example.com", ServerKey: key})
//	defer c.Close(context.Background())
//	c.Track(ctx, client.Event{EventType: "purchase", DeviceID: id, Revenue: client.Float(4.99), Currency: "EUR"})
package client

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Event is an event as POST /v1/events takes it (docs/api.md). EventType and DeviceID are
// required; Track gives an event without EventID a random one, which its retries keep.
type Event struct {
	EventType       string         `json:"event_type"`
	DeviceID        string         `json:"device_id"`
	EventID         string         `json:"event_id,omitempty"`
	UserID          string         `json:"user_id,omitempty"`
	SessionID       string         `json:"session_id,omitempty"`
	Timestamp       time.Time      `json:"timestamp,omitzero"`
	Platform        string         `json:"platform,omitempty"`
	OSVersion       string         `json:"os_version,omitempty"`
	AppVersion      string         `json:"app_version,omitempty"`
	DeviceModel     string         `json:"device_model,omitempty"`
	Country         string         `json:"country,omitempty"`
	Language        string         `json:"language,omitempty"`
	IDFA            string         `json:"idfa,omitempty"`
	GAID            string         `json:"gaid,omitempty"`
	IDFV            string         `json:"idfv,omitempty"`
	AndroidID       string         `json:"android_id,omitempty"`
	InstallReferrer string         `json:"install_referrer,omitempty"`
	Revenue         *float64       `json:"revenue,omitempty"`
	Currency        string         `json:"currency,omitempty"`
	IP              string         `json:"ip,omitempty"`
	UserAgent       string         `json:"user_agent,omitempty"`
	Attribution     map[string]any `json:"attribution,omitempty"`
	EventData       map[string]any `json:"event_data,omitempty"`
}

// Touchpoint is a click or an impression as POST /v1/touchpoints takes it. The API has no
// id by which the server would deduplicate touchpoints: one whose request was taken but
// whose answer was lost is sent again, and stored twice.
type Touchpoint struct {
	Type          string    `json:"type"`
	LinkID        string    `json:"link_id,omitempty"`
	MediaSource   string    `json:"media_source,omitempty"`
	Campaign      string    `json:"campaign,omitempty"`
	Adset         string    `json:"adset,omitempty"`
	Ad            string    `json:"ad,omitempty"`
	SiteID        string    `json:"site_id,omitempty"`
	Channel       string    `json:"channel,omitempty"`
	ClickID       string    `json:"click_id,omitempty"`
	Timestamp     time.Time `json:"timestamp,omitzero"`
	IP            string    `json:"ip,omitempty"`
	UserAgent     string    `json:"user_agent,omitempty"`
	IDFA          string    `json:"idfa,omitempty"`
	GAID          string    `json:"gaid,omitempty"`
	AndroidID     string    `json:"android_id,omitempty"`
	DeviceID      string    `json:"device_id,omitempty"`
	DeepLinkValue string    `json:"deep_link_value,omitempty"`
}

// Float returns a pointer to f, for Event.Revenue.
func Float(f float64) *float64 { return &f }

// Config configures a Client. Endpoint and ServerKey are required.
type Config struct {
	Endpoint   string       // the ingestion listener's base URL, e.g. https://t.example.com
	ServerKey  string       // the app's server key (X-Api-Key)
	HTTPClient *http.Client // http.DefaultClient when nil

	BatchSize     int           // events (or touchpoints) a request; 100 when 0, at most 1000
	FlushInterval time.Duration // how long an event waits for its batch to fill; 1 s when 0
	// QueueSize bounds the events and touchpoints waiting to be sent; 10000 when 0. When the
	// queue is full, Track and Touch return ErrQueueFull at once (the event is dropped),
	// or, with Block, wait for room until their context ends.
	QueueSize int
	Block     bool
	// MaxAttempts is how often a request is sent before its items are given up (reported
	// to OnError); 8 when 0. Network errors, 429 (after its Retry-After) and 5xx answers are
	// retried, with exponential backoff from 100 ms up to MaxBackoff (5 s when 0), jittered.
	MaxAttempts int
	MaxBackoff  time.Duration
	// OnError, when set, is told of what the server refused (a 4xx but 429, or events of a
	// batch listed as rejected) and of requests given up after MaxAttempts. It is called
	// from the client's goroutine: it must not block long.
	OnError func(error)
}

// Errors Track and Touch return.
var (
	ErrQueueFull = errors.New("client: queue full, event dropped")
	ErrClosed    = errors.New("client: closed")
)

// Client sends events and touchpoints in the background. Its methods are safe for
// concurrent use.
type Client struct {
	cfg     Config
	queue   chan item
	flushes chan chan struct{}
	stop    chan struct{}
	done    chan struct{}

	mu     sync.RWMutex // held to read closed while putting into queue; Close takes it whole
	closed bool
}

// item is an event or a touchpoint waiting in the queue.
type item struct {
	event *Event
	touch *Touchpoint
}

// New returns a client for cfg and starts its sender.
func New(cfg Config) *Client {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 100
	}
	cfg.BatchSize = min(cfg.BatchSize, 1000)
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = time.Second
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 10000
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	cfg.Endpoint = strings.TrimSuffix(cfg.Endpoint, "/")
	c := &Client{
		cfg: cfg, queue: make(chan item, cfg.QueueSize), flushes: make(chan chan struct{}),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	go c.run()
	return c
}

// Track queues an event. It gives an event without EventID a random one. It returns
// ErrQueueFull when the queue is full (with Config.Block, it waits for room and returns
// ctx's error if ctx ends first) and ErrClosed after Close.
func (c *Client) Track(ctx context.Context, e Event) error {
	if e.EventID == "" {
		e.EventID = newEventID()
	}
	return c.put(ctx, item{event: &e})
}

// Touch queues a touchpoint, as Track an event.
func (c *Client) Touch(ctx context.Context, tp Touchpoint) error {
	return c.put(ctx, item{touch: &tp})
}

func (c *Client) put(ctx context.Context, it item) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return ErrClosed
	}
	if !c.cfg.Block {
		select {
		case c.queue <- it:
			return nil
		default:
			return ErrQueueFull
		}
	}
	select {
	case c.queue <- it:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Flush sends everything queued before it was called, retrying as configured, and
// returns once that is done, or with ctx's error when ctx ends first (the sending goes on).
func (c *Client) Flush(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case c.flushes <- done:
	case <-c.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close refuses new events, sends everything queued and stops the client. It returns once
// that is done, or with ctx's error when ctx ends first (the sending goes on).
func (c *Client) Close(ctx context.Context) error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.stop)
	}
	c.mu.Unlock()
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run is the sender: it gathers batches from the queue and sends each when full, when
// the oldest has waited FlushInterval, on Flush and on Close.
func (c *Client) run() {
	defer close(c.done)
	var events []*Event
	var touches []*Touchpoint
	timer := time.NewTimer(c.cfg.FlushInterval)
	defer timer.Stop()
	add := func(it item) {
		if it.event != nil {
			if events = append(events, it.event); len(events) >= c.cfg.BatchSize {
				c.sendEvents(events)
				events = nil
			}
			return
		}
		if touches = append(touches, it.touch); len(touches) >= c.cfg.BatchSize {
			c.sendTouches(touches)
			touches = nil
		}
	}
	sendAll := func() { // what is queued now, and what the batches hold
		for n := len(c.queue); n > 0; n-- {
			add(<-c.queue)
		}
		if len(events) > 0 {
			c.sendEvents(events)
			events = nil
		}
		if len(touches) > 0 {
			c.sendTouches(touches)
			touches = nil
		}
	}
	for {
		select {
		case it := <-c.queue:
			add(it)
		case <-timer.C:
			sendAll()
			timer.Reset(c.cfg.FlushInterval)
		case done := <-c.flushes:
			sendAll()
			close(done)
		case <-c.stop:
			sendAll()
			return
		}
	}
}

// sendEvents posts a batch of events, retrying; events the server refuses are reported.
func (c *Client) sendEvents(events []*Event) {
	c.send("/v1/events/batch", "events", events, len(events), func(i int) string { return "event " + events[i].EventID })
}

// sendTouches posts a batch of touchpoints, as sendEvents events.
func (c *Client) sendTouches(touches []*Touchpoint) {
	c.send("/v1/touchpoints", "touchpoints", touches, len(touches), func(i int) string { return fmt.Sprintf("touchpoint %d of a batch", i) })
}

// send posts {field: items} (n of them) to path, retrying, and reports each item the
// server refused, named by name(its index).
func (c *Client) send(path, field string, items any, n int, name func(int) string) {
	body, err := json.Marshal(map[string]any{field: items})
	if err != nil {
		c.report(fmt.Errorf("client: encode %d %s: %w", n, field, err))
		return
	}
	var answer struct {
		Errors []struct {
			Index int    `json:"index"`
			Error string `json:"error"`
		} `json:"errors"`
	}
	if c.post(path, body, n, &answer) {
		for _, e := range answer.Errors {
			if e.Index >= 0 && e.Index < n {
				c.report(fmt.Errorf("client: %s refused: %s", name(e.Index), e.Error))
			}
		}
	}
}

// post sends body to path until it is answered 200 (decoded into answer: it reports true),
// refused for good (a 4xx but 429), or MaxAttempts have failed. The body, and so each
// event's id, is the same on every attempt.
func (c *Client) post(path string, body []byte, n int, answer any) bool {
	var last error
	for attempt := range c.cfg.MaxAttempts {
		if attempt > 0 {
			time.Sleep(c.backoff(attempt, last))
		}
		status, resp, err := c.do(path, body)
		switch {
		case err != nil:
			last = err
		case status == http.StatusOK:
			if err := json.Unmarshal(resp, answer); err != nil {
				c.report(fmt.Errorf("client: %s answered 200 with %q: %w", path, resp, err))
			}
			return true
		case status == http.StatusTooManyRequests || status >= 500:
			last = &statusError{status: status, body: resp}
		default:
			c.report(fmt.Errorf("client: %s refused %d items: %w", path, n, &statusError{status: status, body: resp}))
			return false
		}
	}
	c.report(fmt.Errorf("client: %s: %d items given up after %d attempts: %w", path, n, c.cfg.MaxAttempts, last))
	return false
}

// do sends one request.
func (c *Client) do(path string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, c.cfg.Endpoint+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Api-Key", c.cfg.ServerKey)
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, err
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			return resp.StatusCode, b, &retryAfter{time.Duration(s) * time.Second}
		}
	}
	return resp.StatusCode, b, nil
}

// backoff is how long to wait before attempt (1, 2, ...): the server's Retry-After, else
// 100 ms doubled each attempt, up to MaxBackoff, with ±50% jitter.
func (c *Client) backoff(attempt int, last error) time.Duration {
	var ra *retryAfter
	if errors.As(last, &ra) {
		return ra.d
	}
	d := min(100*time.Millisecond<<min(attempt-1, 20), c.cfg.MaxBackoff)
	return d/2 + rand.N(d)
}

func (c *Client) report(err error) {
	if c.cfg.OnError != nil {
		c.cfg.OnError(err)
	}
}

// statusError is an answer other than 200.
type statusError struct {
	status int
	body   []byte
}

func (e *statusError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.status, bytes.TrimSpace(e.body))
}

// retryAfter is a 429 with the wait it asked for.
type retryAfter struct{ d time.Duration }

func (e *retryAfter) Error() string { return fmt.Sprintf("HTTP 429: retry after %v", e.d) }

// newEventID returns 128 random bits in hex.
func newEventID() string {
	var b [16]byte
	crand.Read(b[:])
	return hex.EncodeToString(b[:])
}
