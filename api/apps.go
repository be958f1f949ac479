package api

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/ingest"
)

// appJSON is an app as the API shows it (API.md): never its server key, which exists only
// hashed once the app is created.
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
}

func newAppJSON(a *unmogrowp.App) appJSON {
	return appJSON{
		ID: a.ID, Name: a.Name, Platform: a.Platform, BundleID: a.BundleID, IOSURL: a.IOSURL,
		AndroidURL: a.AndroidURL, WebURL: a.WebURL, SDKKey: a.SDKKey, SigningSecret: a.SigningSecret,
		Settings: a.Settings, CreatedAt: a.CreatedAt.UTC().Format(time.RFC3339),
	}
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

func (s *Server) handleApp(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) {
	ingest.WriteJSON(w, http.StatusOK, newAppJSON(app))
}

func (s *Server) handlePatchApp(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) {
	var p appPatch
	if err := decodeBody(r, &p); err != nil {
		ingest.WriteError(w, err)
		return
	}
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
		if f.name != "name" && f.name != "bundle_id" {
			if err := unmogrowp.ValidateRedirectURL(f.name, *f.from); err != nil {
				ingest.WriteError(w, err)
				return
			}
		}
		*f.to = *f.from
	}
	if len(p.Settings) > 0 && string(p.Settings) != "null" {
		// Decoding over the current settings changes only the keys present; a key that is
		// not a setting is refused, so a typo is not silently ignored.
		d := json.NewDecoder(bytes.NewReader(p.Settings))
		d.DisallowUnknownFields()
		if err := d.Decode(&app.Settings); err != nil {
			ingest.WriteError(w, unmogrowp.Errorf(unmogrowp.EINVALID, "settings must be an object of known settings with values of their types: %s.", settingsError(err)))
			return
		}
	}
	if err := s.cfg.Apps.UpdateApp(r.Context(), app); err != nil {
		s.fail(w, "update app", err)
		return
	}
	ingest.WriteJSON(w, http.StatusOK, newAppJSON(app))
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
