package ingest

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"

	json "github.com/goccy/go-json"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/httpserve"
)

// segmentRoutes are the routes of Segment's HTTP Tracking API: each call type, and the
// batches ("" type: each call says its own); and the short paths of each call type that
// Segment's browser library (analytics-next) posts to: /v1/t, /v1/i...
func (s *Server) segmentRoutes() []route {
	var out []route
	for _, rt := range [...]struct{ path, typ string }{
		{"track", "track"}, {"identify", "identify"}, {"screen", "screen"}, {"page", "page"},
		{"group", "group"}, {"alias", "alias"}, {"batch", ""}, {"import", ""},
		{"t", "track"}, {"i", "identify"}, {"s", "screen"}, {"p", "page"}, {"g", "group"}, {"a", "alias"},
	} {
		out = append(out, route{"POST /v1/" + rt.path, httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			return s.segment(w, r, rt.typ)
		})})
	}
	return out
}

// segmentAccepted is the answer to Segment calls: success once the events are durable;
// for a batch, also what /v1/events/batch tells of each event (a call refused by the
// event rules, such as a timestamp older than the app's max_event_age_days, is listed by
// its index and the others are kept).
type segmentAccepted struct {
	Accepted *int         `json:"accepted,omitempty"`
	Errors   []batchError `json:"errors,omitempty"`
	Rejected *int         `json:"rejected,omitempty"`
	Success  bool         `json:"success"`
}

// segment serves one route of Segment's HTTP Tracking API: typ is the call's type, or ""
// for a batch. The write key is the user of HTTP Basic auth, else writeKey in the body;
// it may be the app's SDK key or its server key, with the same powers as on /v1/events.
// Sizes are Segment's (32 KiB a call, 500 KiB a batch, after decompression), and over
// them the answer is 400, as Segment's.
func (s *Server) segment(w http.ResponseWriter, r *http.Request, typ string) error {
	limit := int64(MaxSegmentCallBytes)
	if typ == "" {
		limit = MaxSegmentBatchBytes
	}
	var app *unmogrowp.App
	var kind unmogrowp.KeyKind
	key := basicAuthKey(r)
	if key != "" {
		var err error
		if app, kind, err = s.authenticateKey(r.Context(), key); err != nil {
			return s.refuse(err, 1)
		}
	}
	buf := s.getBuf()
	defer s.bufs.Put(buf)
	var wire []byte // the body as received, which a signature covers
	body, err := readWireBody(r, limit, buf.body[:0], &wire)
	buf.body = body[:0]
	if unmogrowp.ErrorCode(err) == unmogrowp.ETOOLARGE {
		err = unmogrowp.Errorf(unmogrowp.EINVALID, "The body is larger than %d bytes, Segment's limit for this call.", limit)
	}
	if err != nil {
		return s.refuse(err, 1)
	}

	sf := getSegmentFast()
	defer sf.release()
	var batch segmentBatch
	if typ == "" {
		if sf.splitBatch(body) {
			batch = sf.batch
			if err := checkText(body, "The body"); err != nil {
				return s.refuse(err, 1)
			}
		} else {
			if err := decodeSegmentBatch(body, &batch); err != nil {
				return s.refuse(err, 1)
			}
			sf.useReference(*batch.Batch)
		}
	} else if sf.single(body) {
		batch.WriteKey = sf.calls[0].call.WriteKey
	} else {
		var env struct {
			WriteKey string `json:"writeKey"`
		}
		if b := bytes.TrimSpace(body); len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &env) != nil {
			return s.refuse(unmogrowp.Errorf(unmogrowp.EINVALID, "Body is not a JSON object."), 1)
		}
		batch.WriteKey = env.WriteKey
	}
	calls := sf.calls
	if app == nil {
		if batch.WriteKey == "" {
			return s.refuse(unmogrowp.Errorf(unmogrowp.EUNAUTHORIZED, "A write key is required: send the app's key as the user of HTTP Basic auth, or as writeKey in the body."), 1)
		}
		if app, kind, err = s.authenticateKey(r.Context(), batch.WriteKey); err != nil {
			return s.refuse(err, 1)
		}
	}
	if len(calls) > MaxSegmentBatchCalls {
		return s.refuse(unmogrowp.Errorf(unmogrowp.EINVALID, "A batch holds at most %d calls; this one has %d.", MaxSegmentBatchCalls, len(calls)), len(calls))
	}
	for i := range calls { // by index: a call is a large struct, not to be copied
		if len(calls[i].raw) > MaxSegmentCallBytes {
			return s.refuse(unmogrowp.Errorf(unmogrowp.EINVALID, "Call %d of the batch is larger than %d bytes, Segment's limit for a call.", i, MaxSegmentCallBytes), len(calls))
		}
	}
	var release func()
	if app.Settings.RequireSignature && kind == unmogrowp.SDKKey {
		if release, err = s.checkSignature(r, app, wire); err != nil {
			return s.refuse(err, 1)
		}
	}
	answer, err := s.acceptSegment(r, app, kind, typ, sf, &batch, buf)
	return answerAccepted(w, answer, err, release)
}

// acceptSegment rate-limits, decodes, admits and appends the calls, as accept does for
// /v1/events.
func (s *Server) acceptSegment(r *http.Request, app *unmogrowp.App, kind unmogrowp.KeyKind, typ string, sf *segmentFast, batch *segmentBatch, buf *ingestBuf) (any, error) {
	if err := s.allow(r.Context(), app, len(sf.calls)); err != nil {
		return nil, err
	}
	ip, ua := "", ""
	if kind == unmogrowp.SDKKey {
		ip, ua = httpserve.ClientIP(r, s.cfg.TrustedProxies), strings.ToValidUTF8(r.UserAgent(), "\uFFFD")
	}
	inBatch := typ == ""
	if !inBatch {
		batch = nil
	}
	now := s.cfg.Now().UTC()
	n, errs, _, err := s.admitAll(r.Context(), app, kind, ip, ua, len(sf.calls), inBatch, buf, func(i int, e *unmogrowp.Event) error {
		return sf.decode(i, typ, batch, now, e)
	})
	if err != nil {
		return nil, err
	}
	if !inBatch {
		return segmentAccepted{Success: true}, nil
	}
	rejected := len(errs)
	return segmentAccepted{Success: true, Accepted: &n, Rejected: &rejected, Errors: errs}, nil
}

// decodeSegmentBatch decodes the body of /v1/batch: {"batch":[...], ...}. Its text, calls
// included, must be UTF-8 without escapes of lone surrogates (httpserve.CheckJSONText).
func decodeSegmentBatch(body []byte, b *segmentBatch) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return unmogrowp.Errorf(unmogrowp.EINVALID, `Body must be a JSON object {"batch":[...]}.`)
	}
	if err := json.Unmarshal(body, b); err != nil {
		var te *json.UnmarshalTypeError
		var fe *fieldError
		switch {
		case errors.As(err, &fe):
			return unmogrowp.Errorf(unmogrowp.EINVALID, "%s", fe.msg)
		case errors.As(err, &te) && strings.EqualFold(te.Field, "batch"):
			return unmogrowp.Errorf(unmogrowp.EINVALID, "batch must be a JSON array.")
		}
		return decodeError(err)
	}
	if b.Batch == nil {
		return unmogrowp.Errorf(unmogrowp.EINVALID, `Body must be a JSON object {"batch":[...]}.`)
	}
	return httpserve.CheckJSONText(body, "The body", nil) // and so each of its calls
}

// basicAuthKey returns the user of the request's HTTP Basic credentials (Segment's write
// key, with an empty password), or "" without them.
func basicAuthKey(r *http.Request) string {
	user, _, ok := r.BasicAuth()
	if !ok {
		return ""
	}
	return user
}

// authenticateKey finds the app of a write key, which may be its server key (by its
// prefix) or its SDK key.
func (s *Server) authenticateKey(ctx context.Context, key string) (*unmogrowp.App, unmogrowp.KeyKind, error) {
	kind := unmogrowp.SDKKey
	if strings.HasPrefix(key, unmogrowp.ServerKeyPrefix) {
		kind = unmogrowp.ServerKey
	}
	app, err := s.lookupKey(ctx, key, kind)
	return app, kind, err
}
