package api

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/httpserve"
	"github.com/unmogrowp/unmogrowp/postback"
)

// Limits of GET /api/apps/{app_id}/postbacks/{postback_id}/deliveries.
const (
	DefaultDeliveriesLimit = 50
	MaxDeliveriesLimit     = 1000
)

// postbackBody is the body of POST /api/apps/{app_id}/postbacks (and of the preview) and
// of PATCH /api/apps/{app_id}/postbacks/{postback_id}: the fields of a postback a caller
// sets, the secret included. A field absent (or null) is left as it is by PATCH and takes
// its default on creation. Its fields are PostbackUpdate's, in its order.
type postbackBody struct {
	Name         *string            `json:"name"`
	Kind         *string            `json:"kind"`
	MediaSource  *string            `json:"media_source"`
	SendAll      *bool              `json:"send_all"`
	Triggers     *[]string          `json:"triggers"`
	EventTypes   *[]string          `json:"event_types"`
	Method       *string            `json:"method"`
	URLTemplate  *string            `json:"url_template"`
	BodyTemplate *string            `json:"body_template"`
	Headers      *map[string]string `json:"headers"`
	Secret       *string            `json:"secret"`
	Enabled      *bool              `json:"enabled"`
}

// decodePostbackBody decodes a postback body, refusing a field that is not one of a
// postback's (a misspelt field would otherwise be ignored without a word), and returns the
// change it asks for.
func decodePostbackBody(r *http.Request) (unmogrowp.PostbackUpdate, error) {
	var raw map[string]json.RawMessage
	if err := decodeBody(r, &raw); err != nil {
		return unmogrowp.PostbackUpdate{}, err
	}
	known := postbackFieldNames()
	for name := range raw {
		if !slices.Contains(known, name) {
			return unmogrowp.PostbackUpdate{}, unmogrowp.Errorf(unmogrowp.EINVALID,
				"%q is not a field of a postback; the fields are %s.", name, strings.Join(known, ", "))
		}
	}
	var b postbackBody
	for name, v := range raw {
		// One field at a time, so that a type error names its field.
		if err := json.Unmarshal(fieldObject(name, v), &b); err != nil {
			return unmogrowp.PostbackUpdate{}, unmogrowp.Errorf(unmogrowp.EINVALID, "%s has the wrong type.", name)
		}
	}
	return unmogrowp.PostbackUpdate(b), nil
}

// fieldObject is the JSON object {name: v}.
func fieldObject(name string, v json.RawMessage) []byte {
	key, _ := json.Marshal(name)
	return bytes.Join([][]byte{[]byte("{"), key, []byte(":"), v, []byte("}")}, nil)
}

// postbackFieldNames lists the JSON names of postbackBody's fields.
func postbackFieldNames() []string {
	return []string{
		"name", "kind", "media_source", "send_all", "triggers", "event_types", "method",
		"url_template", "body_template", "headers", "secret", "enabled",
	}
}

// postbackJSON is a postback as the API shows it: every field but the secret, and
// has_secret, whether requests are signed.
type postbackJSON struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	Kind         string            `json:"kind"`
	MediaSource  string            `json:"media_source"`
	SendAll      bool              `json:"send_all"`
	Triggers     []string          `json:"triggers"`
	EventTypes   []string          `json:"event_types"`
	Method       string            `json:"method"`
	URLTemplate  string            `json:"url_template"`
	BodyTemplate string            `json:"body_template"`
	Headers      map[string]string `json:"headers"`
	HasSecret    bool              `json:"has_secret"`
	Enabled      bool              `json:"enabled"`
	CreatedAt    string            `json:"created_at"`
}

func newPostbackJSON(p *unmogrowp.Postback) postbackJSON {
	out := postbackJSON{
		ID: p.ID, Name: p.Name, Kind: p.Kind, MediaSource: p.MediaSource, SendAll: p.SendAll,
		Triggers: p.Triggers, EventTypes: p.EventTypes, Method: p.Method, URLTemplate: p.URLTemplate,
		BodyTemplate: p.BodyTemplate, Headers: p.Headers, HasSecret: p.Secret != "", Enabled: p.Enabled,
		CreatedAt: p.CreatedAt.UTC().Format(time.RFC3339),
	}
	if out.Triggers == nil {
		out.Triggers = []string{}
	}
	if out.EventTypes == nil {
		out.EventTypes = []string{}
	}
	if out.Headers == nil {
		out.Headers = map[string]string{}
	}
	return out
}

// deliveryJSON is a delivery as the API shows it: never its headers, body or signature,
// which may hold secrets. Times are RFC 3339 in UTC; next_attempt_at is null unless the
// delivery is pending, delivered_at unless it was delivered.
type deliveryJSON struct {
	ID            string  `json:"id"`
	ActivityKind  string  `json:"activity_kind"`
	Status        string  `json:"status"`
	URL           string  `json:"url"`
	Attempts      int     `json:"attempts"`
	LastStatus    int     `json:"last_status"`
	LastError     string  `json:"last_error"`
	CreatedAt     string  `json:"created_at"`
	NextAttemptAt *string `json:"next_attempt_at"`
	DeliveredAt   *string `json:"delivered_at"`
}

func newDeliveryJSON(d *unmogrowp.Delivery) deliveryJSON {
	at := func(t time.Time) *string {
		if t.IsZero() {
			return nil
		}
		s := t.UTC().Format(time.RFC3339Nano)
		return &s
	}
	out := deliveryJSON{
		ID: d.ID, ActivityKind: d.ActivityKind, Status: d.Status, URL: d.URL, Attempts: d.Attempts,
		LastStatus: d.LastStatus, LastError: d.LastError, CreatedAt: d.CreatedAt.UTC().Format(time.RFC3339Nano),
		DeliveredAt: at(d.DeliveredAt),
	}
	if d.Status == unmogrowp.DeliveryPending {
		out.NextAttemptAt = at(d.NextAttemptAt)
	}
	return out
}

// postbacks returns the postback store, or EUNAVAILABLE if the server has none.
func (s *Server) postbacks() (unmogrowp.PostbackStore, error) {
	if s.cfg.Postbacks == nil {
		return nil, unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "Postbacks are not enabled on this server.")
	}
	return s.cfg.Postbacks, nil
}

// postback returns the app's postback named by {postback_id}: ENOTFOUND for one of another
// app, as for one that does not exist.
func (s *Server) postback(r *http.Request, app *unmogrowp.App) (*unmogrowp.Postback, error) {
	store, err := s.postbacks()
	if err != nil {
		return nil, err
	}
	p, err := store.Postback(r.Context(), app.ID, r.PathValue("postback_id"))
	if unmogrowp.ErrorCode(err) == unmogrowp.ENOTFOUND {
		return nil, unmogrowp.Errorf(unmogrowp.ENOTFOUND, "No such postback.")
	}
	if err != nil {
		return nil, fmt.Errorf("read postback: %w", err)
	}
	return p, nil
}

func (s *Server) handlePostbacks(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	store, err := s.postbacks()
	if err != nil {
		return err
	}
	pbs, err := store.Postbacks(r.Context(), app.ID)
	if err != nil {
		return fmt.Errorf("list postbacks: %w", err)
	}
	out := make([]postbackJSON, len(pbs))
	for i, p := range pbs {
		out[i] = newPostbackJSON(p)
	}
	httpserve.JSON(w, http.StatusOK, map[string]any{"postbacks": out})
	return nil
}

// newPostback is the postback a creating body describes, before Validate fills its
// defaults: enabled unless the body says otherwise.
func newPostback(app *unmogrowp.App, upd unmogrowp.PostbackUpdate) *unmogrowp.Postback {
	p := &unmogrowp.Postback{AppID: app.ID, Enabled: true}
	upd.Apply(p)
	return p
}

// postbackChange returns the postback store and the change the request's body asks for.
func (s *Server) postbackChange(r *http.Request) (unmogrowp.PostbackStore, unmogrowp.PostbackUpdate, error) {
	store, err := s.postbacks()
	if err != nil {
		return nil, unmogrowp.PostbackUpdate{}, err
	}
	upd, err := decodePostbackBody(r)
	return store, upd, err
}

func (s *Server) handleCreatePostback(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	store, upd, err := s.postbackChange(r)
	if err != nil {
		return err
	}
	p := newPostback(app, upd)
	if err := store.CreatePostback(r.Context(), p); err != nil {
		return fmt.Errorf("create postback: %w", err)
	}
	s.audit(r, app.ID, "postback.create", p.ID, auditPostback(nil, p, upd))
	httpserve.JSON(w, http.StatusCreated, newPostbackJSON(p))
	return nil
}

func (s *Server) handlePostback(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	p, err := s.postback(r, app)
	if err != nil {
		return err
	}
	httpserve.JSON(w, http.StatusOK, newPostbackJSON(p))
	return nil
}

func (s *Server) handlePatchPostback(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	store, upd, err := s.postbackChange(r)
	if err != nil {
		return err
	}
	before, err := s.postback(r, app)
	if err != nil {
		return err
	}
	p, err := store.UpdatePostback(r.Context(), app.ID, before.ID, upd)
	if unmogrowp.ErrorCode(err) == unmogrowp.ENOTFOUND {
		return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "No such postback.")
	}
	if err != nil {
		return fmt.Errorf("update postback: %w", err)
	}
	if changes := auditPostback(before, p, upd); len(changes) > 0 {
		s.audit(r, app.ID, "postback.update", p.ID, changes)
	}
	httpserve.JSON(w, http.StatusOK, newPostbackJSON(p))
	return nil
}

func (s *Server) handleDeletePostback(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	store, err := s.postbacks()
	if err != nil {
		return err
	}
	err = store.DeletePostback(r.Context(), app.ID, r.PathValue("postback_id"))
	if unmogrowp.ErrorCode(err) == unmogrowp.ENOTFOUND {
		return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "No such postback.")
	}
	if err != nil {
		return fmt.Errorf("delete postback: %w", err)
	}
	s.audit(r, app.ID, "postback.delete", r.PathValue("postback_id"), nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleDeliveries(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	p, err := s.postback(r, app)
	if err != nil {
		return err
	}
	if s.cfg.Outbox == nil {
		return unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "The delivery log is not available on this server.")
	}
	q := r.URL.Query()
	f := unmogrowp.DeliveryFilter{
		AppID: app.ID, PostbackID: p.ID, Status: q.Get("status"), Cursor: q.Get("cursor"),
	}
	if f.From, f.To, err = queryRange(q); err != nil {
		return err
	}
	if f.Limit, err = queryLimit(q, DefaultDeliveriesLimit, MaxDeliveriesLimit); err != nil {
		return err
	}
	ds, next, err := s.cfg.Outbox.List(r.Context(), f)
	if err != nil {
		return fmt.Errorf("list deliveries: %w", err)
	}
	out := make([]deliveryJSON, len(ds))
	for i := range ds {
		out[i] = newDeliveryJSON(&ds[i])
	}
	httpserve.JSON(w, http.StatusOK, map[string]any{"deliveries": out, "next_cursor": next})
	return nil
}

// sampleActivity reads the activity_kind query parameter of the preview and test routes:
// the trigger whose sample the templates are expanded for; when absent, the postback's
// first trigger. Returns EINVALID for one that is not a trigger.
func sampleActivity(r *http.Request, p *unmogrowp.Postback) (string, error) {
	kind := r.URL.Query().Get("activity_kind")
	switch {
	case kind == "" && len(p.Triggers) > 0:
		return p.Triggers[0], nil
	case kind == "":
		return unmogrowp.TriggerInstall, nil
	case !slices.Contains(unmogrowp.Triggers, kind):
		return "", unmogrowp.Errorf(unmogrowp.EINVALID, "activity_kind: unknown trigger %q; the triggers are %s.", kind, strings.Join(unmogrowp.Triggers, ", "))
	}
	return kind, nil
}

// sampleDelivery compiles the postback and expands it for a sample activity of the kind
// (postback.SampleSource) with the delivery id. Returns EINVALID, naming the field, macro
// or trigger, for a postback that is not valid.
func sampleDelivery(app *unmogrowp.App, p unmogrowp.Postback, kind, deliveryID string) (unmogrowp.Delivery, error) {
	c, err := postback.Compile(p)
	if err != nil {
		return unmogrowp.Delivery{}, err
	}
	src := postback.SampleSource(app, kind, c.MediaSource, time.Now())
	if kind == unmogrowp.TriggerEvent && len(c.EventTypes) > 0 {
		src.Event.EventType = c.EventTypes[0]
	}
	src.DeliveryID = deliveryID
	return c.Delivery(src, time.Now()), nil
}

// requestJSON is a request as the preview and the test show it.
type requestJSON struct {
	ActivityKind string            `json:"activity_kind"`
	DeliveryID   string            `json:"delivery_id"`
	Method       string            `json:"method"`
	URL          string            `json:"url"`
	Headers      map[string]string `json:"headers"`
	Body         string            `json:"body"`
}

func newRequestJSON(d *unmogrowp.Delivery) requestJSON {
	out := requestJSON{
		ActivityKind: d.ActivityKind, DeliveryID: d.ID, Method: d.Method, URL: d.URL,
		Headers: d.Headers, Body: string(d.Body),
	}
	if out.Headers == nil {
		out.Headers = map[string]string{}
	}
	return out
}

// previewDeliveryID is the {delivery_id} of a preview.
const previewDeliveryID = "00000000000000000000000000000000"

func (s *Server) handlePreviewPostback(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	upd, err := decodePostbackBody(r)
	if err != nil {
		return err
	}
	p := newPostback(app, upd)
	p.ID = "preview"
	if err := p.Validate(); err != nil {
		return err
	}
	kind, err := sampleActivity(r, p)
	if err != nil {
		return err
	}
	d, err := sampleDelivery(app, *p, kind, previewDeliveryID)
	if err != nil {
		return err
	}
	httpserve.JSON(w, http.StatusOK, newRequestJSON(&d))
	return nil
}

// testResultJSON is the answer of the test route: the request made and what came of it.
type testResultJSON struct {
	// Result is the sender's: delivered, retry (a delivery would be retried: 408, 429,
	// 5xx, no connection, no answer in time), failed (another 4xx, a redirect) or refused
	// (the destination's address is not public).
	Result     string      `json:"result"`
	Delivered  bool        `json:"delivered"`
	LastStatus int         `json:"last_status"` // the answer's HTTP status; 0 without one
	LastError  string      `json:"last_error"`
	Request    requestJSON `json:"request"`
}

func (s *Server) handleTestPostback(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	p, err := s.postback(r, app)
	if err != nil {
		return err
	}
	kind, err := sampleActivity(r, p)
	if err != nil {
		return err
	}
	var id [16]byte
	rand.Read(id[:])
	d, err := sampleDelivery(app, *p, kind, hex.EncodeToString(id[:]))
	if err != nil {
		return fmt.Errorf("compile postback: %w", err) // it was valid when stored
	}
	o := s.sender.Send(r.Context(), &d, p.Secret)
	if o.Result == postback.Aborted {
		return r.Context().Err()
	}
	httpserve.JSON(w, http.StatusOK, testResultJSON{
		Result: o.Result, Delivered: o.Result == postback.Delivered, LastStatus: o.HTTPStatus,
		LastError: o.Error, Request: newRequestJSON(&d),
	})
	return nil
}

// auditPostback is the audit log's changes of a postback from before (nil when it is
// created) to after: the fields the API shows, and the secret as changed (never its
// value) when upd sets it.
func auditPostback(before, after *unmogrowp.Postback, upd unmogrowp.PostbackUpdate) map[string]change {
	from := map[string]any{}
	if before != nil {
		from = flatten(newPostbackJSON(before))
	}
	changes := diff(from, flatten(newPostbackJSON(after)))
	delete(changes, "id")
	delete(changes, "created_at")
	delete(changes, "app_id")
	if upd.Secret != nil && (before == nil || before.Secret != after.Secret) {
		changes["secret"] = change{redacted, redacted}
	}
	return changes
}
