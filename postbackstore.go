package unmogrowp

import "context"

// PostbackStore keeps apps' postbacks and webhooks (POSTBACKS.md): the metadata store
// implements it, and metadatatest.RunPostbackStore is its conformance suite. Every method
// is scoped by app: a postback of another app is not found, exactly as one that does not
// exist. The secret is stored so that the delivery worker can sign requests; what shows a
// postback to a person (the API) must leave it out.
type PostbackStore interface {
	// CreatePostback validates the postback (Postback.Validate, which fills its defaults),
	// fills its ID and CreatedAt and stores it. Returns EINVALID for a nil or invalid
	// postback (naming the field, macro or trigger at fault) or text the store cannot
	// keep, ENOTFOUND if its app does not exist. An ID the caller set is replaced.
	CreatePostback(ctx context.Context, p *Postback) error

	// Postback returns the app's postback with the id, its secret included. Returns
	// ENOTFOUND if the app has no such postback.
	Postback(ctx context.Context, appID, id string) (*Postback, error)

	// Postbacks lists the app's postbacks, oldest first (ties by id), secrets included.
	// It returns an empty, non-nil slice for an app without postbacks or an unknown app.
	Postbacks(ctx context.Context, appID string) ([]*Postback, error)

	// UpdatePostback applies upd to the app's postback with the id, atomically, and
	// returns the postback as stored. The result is validated as CreatePostback does (a
	// kind or method changed alone may make it invalid); ID, AppID and CreatedAt never
	// change. Returns ENOTFOUND if the app has no such postback, EINVALID as
	// CreatePostback.
	UpdatePostback(ctx context.Context, appID, id string, upd PostbackUpdate) (*Postback, error)

	// DeletePostback removes the app's postback with the id; its deliveries stay in the
	// outbox, and those still pending fail when their turn comes. Returns ENOTFOUND if the
	// app has no such postback.
	DeletePostback(ctx context.Context, appID, id string) error
}

// PostbackUpdate is a change to a postback, as PATCH takes it: a nil field is left as it
// is. Secret set to "" removes the secret (requests are then not signed).
type PostbackUpdate struct {
	Name         *string
	Kind         *string
	MediaSource  *string
	SendAll      *bool
	Triggers     *[]string
	EventTypes   *[]string
	Method       *string
	URLTemplate  *string
	BodyTemplate *string
	Headers      *map[string]string
	Secret       *string
	Enabled      *bool
}

// Apply changes p by u.
func (u PostbackUpdate) Apply(p *Postback) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&p.Name, u.Name)
	set(&p.Kind, u.Kind)
	set(&p.MediaSource, u.MediaSource)
	set(&p.Method, u.Method)
	set(&p.URLTemplate, u.URLTemplate)
	set(&p.BodyTemplate, u.BodyTemplate)
	set(&p.Secret, u.Secret)
	if u.SendAll != nil {
		p.SendAll = *u.SendAll
	}
	if u.Enabled != nil {
		p.Enabled = *u.Enabled
	}
	if u.Triggers != nil {
		p.Triggers = append([]string(nil), *u.Triggers...)
	}
	if u.EventTypes != nil {
		p.EventTypes = append([]string(nil), *u.EventTypes...)
	}
	if u.Headers != nil {
		p.Headers = make(map[string]string, len(*u.Headers))
		for k, v := range *u.Headers {
			p.Headers[k] = v
		}
	}
}
