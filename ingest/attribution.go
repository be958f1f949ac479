package ingest

import (
	"context"
	"net/http"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/httpserve"
)

// Devices is where GET /v1/attribution finds a device's attribution: the latest install
// decision of each device. unmogrowp.HotState satisfies it.
type Devices interface {
	// Device returns the latest install decision of the app's device, and false when the
	// device has none yet (its install is not processed). An error means the store could
	// not answer.
	Device(ctx context.Context, appID, deviceID string) (unmogrowp.Install, bool, error)
}

var _ Devices = unmogrowp.HotState(nil)

// Consents is where GET /v1/attribution finds a device's third_party_sharing: its latest
// statement. unmogrowp.ConsentStore satisfies it.
type Consents interface {
	// Consents returns the latest statements of the app's devices among deviceIDs, by
	// device id; a device with none is absent. An error means the store could not answer.
	Consents(ctx context.Context, appID string, deviceIDs []string) (map[string]unmogrowp.Consent, error)
}

var _ Consents = unmogrowp.ConsentStore(nil)

// handleAttribution runs GET /v1/attribution?device_id=...: the SDK asks, on first open,
// how its install was attributed, for deferred deep linking (deep_link_value). It answers
// the attribution object of API.md, with the device's third_party_sharing when Consents is
// configured, or 404 until the device's install is processed.
func (s *Server) handleAttribution(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	app, kind, err := s.authenticate(r)
	if err != nil {
		return err
	}
	if app.Settings.RequireSignature && kind == unmogrowp.SDKKey {
		// The signature covers "<X-Timestamp>.<raw body>"; a GET's body is normally empty,
		// so the SDK signs "<X-Timestamp>.". It is not claimed against replays as the event
		// endpoints' are: it covers no query, so every lookup of an app in one second has the
		// same signature, and replaying a read only answers what the first answer said.
		var wire []byte
		_, err := readWireBody(r, unmogrowp.MaxEventBytes, nil, &wire)
		if err == nil {
			_, _, err = verifySignature(r, wire, app.SigningSecret, s.cfg.Now())
		}
		if err != nil {
			return err
		}
	}
	deviceID := r.URL.Query().Get("device_id")
	textErr := unmogrowp.ValidateName("device_id", deviceID) // a query string is not mended: refuse
	switch {
	case deviceID == "":
		return unmogrowp.Errorf(unmogrowp.EINVALID, "device_id is required.")
	case len(deviceID) > unmogrowp.MaxDeviceIDLen:
		return unmogrowp.Errorf(unmogrowp.EINVALID, "device_id must be at most %d characters.", unmogrowp.MaxDeviceIDLen)
	case textErr != nil:
		return textErr
	case s.cfg.Devices == nil:
		return unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "Attribution lookups are not configured on this listener.")
	}
	inst, ok, err := s.cfg.Devices.Device(r.Context(), app.ID, deviceID)
	if err == nil && ok && s.cfg.Consents != nil {
		var cs map[string]unmogrowp.Consent
		if cs, err = s.cfg.Consents.Consents(r.Context(), app.ID, []string{deviceID}); err == nil {
			c, stated := cs[deviceID]
			inst.NoSharing = stated && !c.Sharing
		}
	}
	if err != nil {
		if r.Context().Err() == nil {
			s.cfg.Logger.Error("look up device attribution", "app_id", app.ID, "err", err)
		}
		return retryLater("The attribution state cannot be reached; retry later.")
	}
	if !ok {
		return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "This device has no attribution yet: its install has not been processed.")
	}
	httpserve.JSON(w, http.StatusOK, inst.Attribution) // Attribution.MarshalJSON: the API's object
	return nil
}
