package opendsr

import (
	"encoding/json"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// EventRow is an event as the access file writes it: the raw export's fields
// (docs/export.md) with "kind": "event".
func EventRow(e *unmogrowp.Event) map[string]any {
	row := map[string]any{
		"kind": "event", "event_id": e.EventID, "event_type": e.EventType, "timestamp": rfc3339(e.Timestamp),
		"received_at": rfc3339(e.ReceivedAt), "device_id": e.DeviceID, "user_id": e.UserID,
		"session_id": e.SessionID, "platform": e.Platform, "os_version": e.OSVersion,
		"app_version": e.AppVersion, "device_model": e.DeviceModel, "country": e.Country,
		"language": e.Language, "idfa": e.IDFA, "gaid": e.GAID, "idfv": e.IDFV,
		"android_id": e.AndroidID, "att_status": e.ATTStatus, "install_referrer": e.InstallReferrer,
		"ip": e.IP, "user_agent": e.UserAgent, "media_source": e.MediaSource, "campaign": e.Campaign,
		"revenue": nil, "currency": e.Currency, "event_data": raw(e.EventData), "attribution": raw(e.Attribution),
	}
	if e.HasRevenue {
		row["revenue"] = e.Revenue
	}
	return row
}

// TouchpointRow is a touchpoint as the access file writes it: the raw export's fields with
// "kind": "touchpoint".
func TouchpointRow(tp *unmogrowp.Touchpoint) map[string]any {
	return map[string]any{
		"kind": "touchpoint", "touchpoint_id": tp.ID, "type": tp.Type, "timestamp": rfc3339(tp.Time),
		"received_at": rfc3339(tp.ReceivedAt), "media_source": tp.MediaSource, "campaign": tp.Campaign,
		"adset": tp.Adset, "ad": tp.Ad, "site_id": tp.SiteID, "channel": tp.Channel,
		"click_id": tp.ClickID, "link_id": tp.LinkID, "ip": tp.IP, "user_agent": tp.UserAgent,
		"idfa": tp.IDFA, "gaid": tp.GAID, "android_id": tp.AndroidID, "device_id": tp.DeviceID,
		"deep_link_value": tp.DeepLinkValue, "sub1": tp.Sub[0], "sub2": tp.Sub[1], "sub3": tp.Sub[2],
		"sub4": tp.Sub[3], "sub5": tp.Sub[4],
	}
}

func rfc3339(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func raw(m json.RawMessage) any {
	if len(m) == 0 {
		return nil
	}
	return m
}
