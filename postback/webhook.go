package postback

import (
	"encoding/json"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// webhookJSON is the body of a webhook: the activity kind and the attribution object of
// API.md (install, reinstall, reattribution, rejected_install, with the rejected
// touchpoint's verdict for the last) or the event.
type webhookJSON struct {
	ActivityKind string                 `json:"activity_kind"`
	Attribution  *unmogrowp.Attribution `json:"attribution,omitempty"`
	Rejection    *unmogrowp.Rejection   `json:"rejection,omitempty"`
	Event        *eventJSON             `json:"event,omitempty"`
}

// eventJSON is a stored event with the field names of API.md, and the media source and
// campaign the pipeline attributed it to ("" for organic).
type eventJSON struct {
	EventType       string          `json:"event_type"`
	AppID           string          `json:"app_id"`
	DeviceID        string          `json:"device_id"`
	EventID         string          `json:"event_id"`
	UserID          string          `json:"user_id"`
	SessionID       string          `json:"session_id"`
	Timestamp       string          `json:"timestamp"`
	Platform        string          `json:"platform"`
	OSVersion       string          `json:"os_version"`
	AppVersion      string          `json:"app_version"`
	DeviceModel     string          `json:"device_model"`
	Country         string          `json:"country"`
	Language        string          `json:"language"`
	IDFA            string          `json:"idfa"`
	GAID            string          `json:"gaid"`
	IDFV            string          `json:"idfv"`
	AndroidID       string          `json:"android_id"`
	ATTStatus       string          `json:"att_status"`
	Revenue         *float64        `json:"revenue"`
	Currency        string          `json:"currency"`
	IP              string          `json:"ip"`
	UserAgent       string          `json:"user_agent"`
	EventData       json.RawMessage `json:"event_data"`
	MediaSource     string          `json:"media_source"`
	Campaign        string          `json:"campaign"`
	InstallReferrer string          `json:"install_referrer"`
}

// WebhookBody is the JSON body of a webhook for src: {"activity_kind", "attribution"} for
// install, reinstall, reattribution (and "rejection", the rejected touchpoint's verdict,
// for rejected_install); {"activity_kind", "event"} for an event.
func WebhookBody(src *Source) []byte {
	w := webhookJSON{ActivityKind: src.ActivityKind}
	if src.ActivityKind == unmogrowp.TriggerEvent && src.Event != nil {
		w.Event = newEventJSON(src.Event)
	} else {
		w.Attribution, w.Rejection = src.Install, src.Rejection
	}
	b, err := json.Marshal(w)
	if err != nil { // only an event_data that is not JSON, which ingestion never keeps
		w.Event.EventData = nil
		b, _ = json.Marshal(w)
	}
	return b
}

func newEventJSON(e *unmogrowp.Event) *eventJSON {
	j := &eventJSON{
		EventType: e.EventType, AppID: e.AppID, DeviceID: e.DeviceID, EventID: e.EventID,
		UserID: e.UserID, SessionID: e.SessionID, Timestamp: e.Timestamp.UTC().Format(time.RFC3339Nano),
		Platform: e.Platform, OSVersion: e.OSVersion, AppVersion: e.AppVersion,
		DeviceModel: e.DeviceModel, Country: e.Country, Language: e.Language,
		IDFA: e.IDFA, GAID: e.GAID, IDFV: e.IDFV, AndroidID: e.AndroidID, ATTStatus: e.ATTStatus,
		Currency: e.Currency, IP: e.IP, UserAgent: e.UserAgent, EventData: json.RawMessage(e.EventData),
		MediaSource: e.MediaSource, Campaign: e.Campaign, InstallReferrer: e.InstallReferrer,
	}
	if e.HasRevenue {
		j.Revenue = &e.Revenue
	}
	if len(j.EventData) == 0 {
		j.EventData = json.RawMessage("{}")
	}
	return j
}
