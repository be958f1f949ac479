package api

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/httpserve"
)

// appJSON is an app as the API shows it (API.md): never its server key, which exists only
// hashed once the app is created. IngestURL is where the app's SDKs and servers send
// events (Config.IngestURL), for the dashboard's integration snippets.
type appJSON struct {
	ID            string                `json:"id"`
	Name          string                `json:"name"`
	Platform      string                `json:"platform"`
	BundleID      string                `json:"bundle_id"`
	IOSURL        string                `json:"ios_url"`
	AndroidURL    string                `json:"android_url"`
	WebURL        string                `json:"web_url"`
	SDKKey        string                `json:"sdk_key"`
	SigningSecret string                `json:"signing_secret"`
	Settings      unmogrowp.AppSettings `json:"settings"`
	CreatedAt     string                `json:"created_at"`
	IngestURL     string                `json:"ingest_url"`
	Role          unmogrowp.Role        `json:"role,omitempty"` // the caller's (ServerKeyRole for the server key)
}

func newAppJSON(a *unmogrowp.App, ingestURL string) appJSON {
	return appJSON{
		ID: a.ID, Name: a.Name, Platform: a.Platform, BundleID: a.BundleID, IOSURL: a.IOSURL,
		AndroidURL: a.AndroidURL, WebURL: a.WebURL, SDKKey: a.SDKKey, SigningSecret: a.SigningSecret,
		Settings: a.Settings, CreatedAt: a.CreatedAt.UTC().Format(time.RFC3339), IngestURL: ingestURL,
	}
}

// appView is the app as a caller with the role sees it, with the role: a viewer sees no
// secret (the signing secret is empty); an editor and above, and the server key, see it.
func (s *Server) appView(a *unmogrowp.App, role unmogrowp.Role) appJSON {
	v := newAppJSON(a, s.cfg.IngestURL)
	v.Role = role
	if !role.AtLeast(unmogrowp.RoleEditor) {
		v.SigningSecret = ""
	}
	return v
}

// appPatch is the body of PATCH /api/apps/{app_id}: fields present replace the app's;
// settings present replace those settings and leave the others as they are.
type appPatch struct {
	Name       *string         `json:"name"`
	BundleID   *string         `json:"bundle_id"`
	IOSURL     *string         `json:"ios_url"`
	AndroidURL *string         `json:"android_url"`
	WebURL     *string         `json:"web_url"`
	Settings   json.RawMessage `json:"settings"`
}

// appRequest is the body of POST /api/apps.
type appRequest struct {
	Name       string          `json:"name"`
	Platform   string          `json:"platform"`
	BundleID   string          `json:"bundle_id"`
	IOSURL     string          `json:"ios_url"`
	AndroidURL string          `json:"android_url"`
	WebURL     string          `json:"web_url"`
	Settings   json.RawMessage `json:"settings"`
}

// createdAppJSON is the answer that creates an app or rotates its server key: the only
// answers that show the server key.
type createdAppJSON struct {
	appJSON
	ServerKey string `json:"server_key"`
}

func (s *Server) handleApps(w http.ResponseWriter, r *http.Request, user *unmogrowp.User) error {
	var list []unmogrowp.AppRole
	if s.cfg.Teams != nil {
		var err error
		if list, err = s.cfg.Teams.AppsOfUser(r.Context(), user.ID); err != nil {
			return fmt.Errorf("list apps: %w", err)
		}
	} else {
		apps, err := s.cfg.Apps.Apps(r.Context(), user.ID)
		if err != nil {
			return fmt.Errorf("list apps: %w", err)
		}
		for _, a := range apps {
			list = append(list, unmogrowp.AppRole{App: a, Role: unmogrowp.RoleOwner})
		}
	}
	out := make([]appJSON, len(list))
	for i, a := range list {
		out[i] = s.appView(a.App, a.Role)
	}
	httpserve.JSON(w, http.StatusOK, map[string]any{"apps": out})
	return nil
}

func (s *Server) handleCreateApp(w http.ResponseWriter, r *http.Request, user *unmogrowp.User) error {
	var req appRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	platform, ok := unmogrowp.NormalizePlatform(req.Platform)
	if !ok {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "platform must be one of ios, android, web, other.")
	}
	app := &unmogrowp.App{
		OwnerID: user.ID, Name: strings.TrimSpace(req.Name), Platform: platform, BundleID: req.BundleID,
		IOSURL: req.IOSURL, AndroidURL: req.AndroidURL, WebURL: req.WebURL, Settings: unmogrowp.DefaultAppSettings(),
	}
	for _, f := range []struct{ name, v string }{{"name", app.Name}, {"bundle_id", app.BundleID}} {
		if err := unmogrowp.ValidateName(f.name, f.v); err != nil {
			return err
		}
	}
	for _, u := range []struct{ name, v string }{{"ios_url", app.IOSURL}, {"android_url", app.AndroidURL}, {"web_url", app.WebURL}} {
		if err := unmogrowp.ValidateRedirectURL(u.name, u.v); err != nil {
			return err
		}
	}
	if err := decodeSettings(req.Settings, &app.Settings); err != nil {
		return err
	}
	keys, err := s.cfg.Apps.CreateApp(r.Context(), app)
	if err != nil {
		return fmt.Errorf("create app: %w", err)
	}
	s.audit(r, app.ID, "app.create", app.ID, nil)
	httpserve.JSON(w, http.StatusCreated, createdAppJSON{appJSON: s.appView(app, unmogrowp.RoleOwner), ServerKey: keys.ServerKey})
	return nil
}

func (s *Server) handleDeleteApp(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	if err := s.cfg.Apps.DeleteApp(r.Context(), app.ID); err != nil {
		return fmt.Errorf("delete app: %w", err)
	}
	s.forgetApp(app.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleRotateKey(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	key, err := s.cfg.Apps.RotateServerKey(r.Context(), app.ID)
	if err != nil {
		return fmt.Errorf("rotate server key: %w", err)
	}
	s.forgetApp(app.ID) // the old key stops working on this process's ingestion listener now
	s.audit(r, app.ID, auditActionKeysRotate, app.ID, map[string]change{"server_key": {redacted, redacted}})
	httpserve.JSON(w, http.StatusOK, createdAppJSON{appJSON: s.appView(app, callerOf(r).role), ServerKey: key})
	return nil
}

func (s *Server) handleApp(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	httpserve.JSON(w, http.StatusOK, s.appView(app, callerOf(r).role))
	return nil
}

func (s *Server) handlePatchApp(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	var p appPatch
	if err := decodeBody(r, &p); err != nil {
		return err
	}
	before := auditApp(app)
	for _, f := range []struct {
		name string
		from *string
		to   *string
	}{
		{"name", p.Name, &app.Name}, {"bundle_id", p.BundleID, &app.BundleID},
		{"ios_url", p.IOSURL, &app.IOSURL}, {"android_url", p.AndroidURL, &app.AndroidURL},
		{"web_url", p.WebURL, &app.WebURL},
	} {
		if f.from == nil {
			continue
		}
		validate := unmogrowp.ValidateRedirectURL
		if f.name == "name" || f.name == "bundle_id" {
			validate = unmogrowp.ValidateName
		}
		if err := validate(f.name, *f.from); err != nil {
			return err
		}
		*f.to = *f.from
	}
	if err := decodeSettings(p.Settings, &app.Settings); err != nil {
		return err
	}
	if err := s.cfg.Apps.UpdateApp(r.Context(), app); err != nil {
		return fmt.Errorf("update app: %w", err)
	}
	s.forgetApp(app.ID)
	if changes := diff(before, auditApp(app)); len(changes) > 0 {
		s.audit(r, app.ID, auditActionAppUpdate, app.ID, changes)
	}
	httpserve.JSON(w, http.StatusOK, s.appView(app, callerOf(r).role))
	return nil
}

// auditApp is what the audit log compares of an app before and after a change, flattened:
// what PATCH changes, and no secret.
func auditApp(a *unmogrowp.App) map[string]any {
	return flatten(map[string]any{"name": a.Name, "bundle_id": a.BundleID, "ios_url": a.IOSURL, "android_url": a.AndroidURL,
		"web_url": a.WebURL, "settings": a.Settings})
}

// forgetApp tells the AppCache, if any, and the auth cache that the app changed.
func (s *Server) forgetApp(appID string) {
	s.auth.invalidate()
	if s.cfg.AppCache != nil {
		s.cfg.AppCache.ForgetApp(appID)
	}
}

// decodeSettings decodes a settings object over settings: only the keys present change. A
// key that is not a setting is refused, so a typo is not silently ignored. Ranges are
// checked by the store (AppSettings.Validate).
func decodeSettings(raw json.RawMessage, settings *unmogrowp.AppSettings) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(settings); err != nil {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "settings must be an object of known settings with values of their types: %s.", settingsError(err))
	}
	return nil
}

// settingsError names what was wrong in a settings object, without Go's type names.
func settingsError(err error) string {
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te) && te.Field != "":
		return te.Field + " has the wrong type"
	case strings.Contains(err.Error(), "unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return "not valid JSON"
}
