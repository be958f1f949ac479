package ingest

import (
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/httpserve"
	"github.com/unmogrowp/unmogrowp/skan"
)

// SKANApps finds apps by their App Store id (the metadata store).
type SKANApps interface {
	// AppByStoreID returns the app whose settings claim the id. Returns ENOTFOUND if none
	// does.
	AppByStoreID(ctx context.Context, storeID int64) (*unmogrowp.App, error)
}

// MaxSKANBatch is how many postbacks one POST /v1/skan/postbacks may hold.
const MaxSKANBatch = 1000

// handleSKANAppleCopy runs the /.well-known/ routes, where Apple's devices send the
// advertiser's copy of SKAdNetwork and AdAttributionKit postbacks (SKAN.md, "Intake"): no
// key; the app is the one whose app_store_id the postback names. 200 once the postback is
// durable in the log, and for an unknown app (counted: a 4xx would only make the device
// retry for days); 400 for a body that is not a JSON object; 503 when the log or the app
// store cannot answer, so that the device retries. The signature is verified and stored,
// never a reason to refuse.
func (s *Server) handleSKANAppleCopy(w http.ResponseWriter, r *http.Request) error {
	buf := s.getBuf()
	defer s.bufs.Put(buf)
	body, err := readBody(r, unmogrowp.MaxEventBytes, buf.body[:0])
	buf.body = body[:0]
	if err != nil {
		return err
	}
	p, err := s.skanKeys.Read(body)
	if err != nil {
		return err
	}
	app, err := s.skanApp(r.Context(), p.AppStoreID)
	if unmogrowp.ErrorCode(err) == unmogrowp.ENOTFOUND {
		s.skanCount.WithLabelValues(p.Kind, skan.ResultUnknownApp).Inc()
		httpserve.JSON(w, http.StatusOK, skanAnswer{Status: "unknown_app"})
		return nil
	}
	if err != nil {
		s.cfg.Logger.Error("look up app by App Store id", "app_store_id", p.AppStoreID, "err", err)
		return retryLater("The app store cannot be reached; retry later.")
	}
	p.ID, p.AppID, p.FromApple, p.ReceivedAt = newEventID(), app.ID, true, s.cfg.Now().UTC()
	rec := unmogrowp.EncodeSKANRecord(buf.recs[:0], &p)
	buf.recs = rec[:0]
	if err := s.appendLog(r.Context(), app.ID, [][]byte{rec}, "postbacks"); err != nil {
		return err
	}
	s.skanCount.WithLabelValues(p.Kind, p.Signature).Inc()
	httpserve.JSON(w, http.StatusOK, skanAnswer{Status: "accepted", Accepted: 1})
	return nil
}

// skanAnswer is the answer of the SKAN intake routes.
type skanAnswer struct {
	Status   string `json:"status"`   // accepted, or unknown_app (nothing kept)
	Accepted int    `json:"accepted"` // postbacks kept
	Ignored  int    `json:"ignored"`  // entries of a forwarded batch that are not JSON objects
}

// handleSKANForwarded runs POST /v1/skan/postbacks: postbacks that a network or the
// advertiser's server forwards with the app's server key, {"postbacks":[...]}, at most
// MaxSKANBatch, each either body of the /.well-known/ routes. They are the app's, whatever
// app they name. An entry that is not a JSON object is ignored (counted); every other one
// is kept, with its signature's state. 200 once they are durable in the log.
func (s *Server) handleSKANForwarded(w http.ResponseWriter, r *http.Request) error {
	app, kind, err := s.authenticate(r)
	if err != nil {
		return err
	}
	if kind != unmogrowp.ServerKey {
		return unmogrowp.Errorf(unmogrowp.EFORBIDDEN, "Forwarded postbacks need the app's server key in X-Api-Key; the SDK key may not send them.")
	}
	buf := s.getBuf()
	defer s.bufs.Put(buf)
	body, err := readBody(r, unmogrowp.MaxBatchBytes, buf.body[:0])
	buf.body = body[:0]
	if err != nil {
		return err
	}
	var req struct {
		Postbacks []json.RawMessage `json:"postbacks"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return unmogrowp.Errorf(unmogrowp.EINVALID, `The body must be {"postbacks":[...]}.`)
	}
	if len(req.Postbacks) > MaxSKANBatch {
		return unmogrowp.Errorf(unmogrowp.ETOOLARGE, "A request holds at most %d postbacks; this one has %d.", MaxSKANBatch, len(req.Postbacks))
	}
	now := s.cfg.Now().UTC()
	read := s.readAll(req.Postbacks)
	values, recs := buf.values[:0], buf.recs[:0]
	results := map[[2]string]int{} // (kind, signature): postbacks, counted once the batch is logged
	ignored := 0
	for i := range read {
		p := &read[i]
		if p.Kind == "" { // not a JSON object
			ignored++
			continue
		}
		p.ID, p.AppID, p.ReceivedAt = newEventID(), app.ID, now
		start := len(recs)
		recs = unmogrowp.EncodeSKANRecord(recs, p)
		values = append(values, recs[start:len(recs):len(recs)])
		results[[2]string{p.Kind, p.Signature}]++
	}
	buf.values, buf.recs = values[:0], recs[:0]
	if len(values) > 0 {
		if err := s.appendLog(r.Context(), app.ID, values, "postbacks"); err != nil {
			return err
		}
	}
	for r, n := range results {
		s.skanCount.WithLabelValues(r[0], r[1]).Add(float64(n))
	}
	httpserve.JSON(w, http.StatusOK, skanAnswer{Status: "accepted", Accepted: len(values), Ignored: ignored})
	return nil
}

// skanApp returns the app of an App Store id, from a cache kept for Config.AppCacheTTL
// (forgotten at once by ForgetApp), or the store. Returns ENOTFOUND for an id no app
// claims, and when there is no store to ask.
func (s *Server) skanApp(ctx context.Context, storeID int64) (*unmogrowp.App, error) {
	if storeID <= 0 || s.cfg.SKANApps == nil {
		return nil, unmogrowp.Errorf(unmogrowp.ENOTFOUND, "No app has this App Store id.")
	}
	return s.storeIDs.lookup(ctx, storeID, s.cfg.SKANApps.AppByStoreID)
}

// storeIDCache keeps apps by App Store id for a short while, unknown ids too (for less
// time), so that a flood of postbacks does not ask the metadata store for each.
type storeIDCache struct {
	ttl time.Duration
	now func() time.Time

	mu   sync.Mutex
	byID map[int64]cachedApp
	gen  uint64
}

func (c *storeIDCache) lookup(ctx context.Context, id int64, find func(context.Context, int64) (*unmogrowp.App, error)) (*unmogrowp.App, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.byID[id]
	gen := c.gen
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.app, e.err
	}
	app, err := find(ctx, id)
	if err != nil && unmogrowp.ErrorCode(err) != unmogrowp.ENOTFOUND {
		return nil, err
	}
	ttl := c.ttl
	if err != nil {
		ttl = min(ttl, time.Second)
	}
	c.mu.Lock()
	if c.gen == gen {
		if len(c.byID) > 100_000 {
			clear(c.byID)
		}
		c.byID[id] = cachedApp{app: app, err: err, expires: now.Add(ttl)}
	}
	c.mu.Unlock()
	return app, err
}

// forget drops every cached id: an app changed its setting, and the old id must not find
// it a moment longer.
func (c *storeIDCache) forget() {
	c.mu.Lock()
	c.gen++
	clear(c.byID)
	c.mu.Unlock()
}

// readAll reads and verifies the entries of a forwarded batch, on as many goroutines as
// there are CPUs (verifying a signature is most of intake's work); an entry that is not a
// JSON object is left zero (Kind "").
func (s *Server) readAll(raws []json.RawMessage) []unmogrowp.SKANPostback {
	out := make([]unmogrowp.SKANPostback, len(raws))
	workers := min(runtime.GOMAXPROCS(0), (len(raws)+63)/64)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(raws); i += workers {
				if p, err := s.skanKeys.Read(raws[i]); err == nil {
					out[i] = p
				}
			}
		})
	}
	wg.Wait()
	return out
}
