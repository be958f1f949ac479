package postback

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// Source is what one delivery's macros are taken from: the activity and the records it is
// about. Nil fields are absent, and so are the macros drawn from them.
type Source struct {
	ActivityKind string // one of the unmogrowp.Trigger constants
	DeliveryID   string

	App *unmogrowp.App
	// Install is the install decision: for an install, reinstall, reattribution or
	// rejected_install the decision itself; for an event the device's attribution when
	// the event was processed (nil when it had none).
	Install *unmogrowp.Attribution
	// Touch is the touchpoint the activity is about: the winning one (see TouchOf), or for
	// rejected_install the rejected one. Nil for organic.
	Touch *unmogrowp.Touchpoint
	// Event is the install event (for the device's fields) or, for an event, the event.
	Event *unmogrowp.Event
	// Rejection is the rejected touchpoint's verdict, for rejected_install.
	Rejection *unmogrowp.Rejection
}

var _ Values = (*Source)(nil)

// TouchOf returns the touchpoint an install decision names, with the touch fields of the
// decision, and sub1..sub5 (which a decision does not keep) and the rest of tp when tp is
// that touchpoint. It returns nil for an organic decision.
func TouchOf(a *unmogrowp.Attribution, tp *unmogrowp.Touchpoint) *unmogrowp.Touchpoint {
	if a == nil || !a.Attributed {
		return nil
	}
	t := unmogrowp.Touchpoint{}
	if tp != nil && tp.ID == a.TouchpointID {
		t = *tp
	}
	t.ID, t.AppID, t.Type, t.Time = a.TouchpointID, a.AppID, a.TouchType, a.TouchTime
	t.MediaSource, t.Campaign, t.Adset, t.Ad = a.MediaSource, a.Campaign, a.Adset, a.Ad
	t.SiteID, t.Channel, t.ClickID, t.DeepLinkValue = a.SiteID, a.Channel, a.ClickID, a.DeepLinkValue
	return &t
}

// Value returns the value of a macro of unmogrowp.PostbackMacros, "" when it is absent
// (and for a name that is not a macro).
func (s *Source) Value(macro string) string {
	if v, ok := s.touchValue(macro); ok {
		return v
	}
	if v, ok := s.eventValue(macro); ok {
		return v
	}
	switch macro {
	case "activity_kind":
		return s.ActivityKind
	case "delivery_id":
		return s.DeliveryID
	case "app_id":
		switch {
		case s.App != nil:
			return s.App.ID
		case s.Install != nil:
			return s.Install.AppID
		case s.Event != nil:
			return s.Event.AppID
		}
	case "bundle_id":
		if s.App != nil {
			return s.App.BundleID
		}
	case "platform":
		if s.Event != nil && s.Event.Platform != "" {
			return s.Event.Platform
		}
		if s.App != nil {
			return s.App.Platform
		}
	case "device_id":
		switch {
		case s.Event != nil:
			return s.Event.DeviceID
		case s.Install != nil:
			return s.Install.DeviceID
		}
	case "media_source":
		switch {
		case s.Touch != nil:
			return s.Touch.MediaSource
		case s.Rejection != nil:
			return s.Rejection.MediaSource
		case s.Install != nil:
			return s.Install.MediaSource
		}
	case "match_type":
		if s.Install != nil {
			return s.Install.MatchType
		}
	case "install_unix_ts":
		if s.Install != nil {
			return unixString(s.Install.InstallTime)
		}
	case "is_reinstall":
		return strconv.FormatBool(s.Install != nil && s.Install.IsReinstall)
	case "is_reattribution":
		return strconv.FormatBool(s.Install != nil && s.Install.IsReattribution)
	case "ctit":
		return s.ctit()
	case "reject_reason":
		if s.Rejection != nil {
			return s.Rejection.Reason
		}
	case "reject_reason_value":
		return s.rejectReasonValue()
	}
	return ""
}

// touchValue returns the value of a macro drawn from the touchpoint, and false for a macro
// that is not.
func (s *Source) touchValue(macro string) (string, bool) {
	tp := s.Touch
	if tp == nil {
		tp = &unmogrowp.Touchpoint{}
		if s.Rejection != nil {
			tp.ID = s.Rejection.TouchpointID
		}
	}
	switch macro {
	case "campaign":
		return tp.Campaign, true
	case "adset":
		return tp.Adset, true
	case "ad":
		return tp.Ad, true
	case "site_id":
		return tp.SiteID, true
	case "channel":
		return tp.Channel, true
	case "sub1", "sub2", "sub3", "sub4", "sub5":
		return tp.Sub[macro[3]-'1'], true
	case "deep_link_value":
		return tp.DeepLinkValue, true
	case "click_id":
		return tp.ClickID, true
	case "touchpoint_id":
		return tp.ID, true
	case "touch_type":
		return tp.Type, true
	case "click_unix_ts":
		return unixString(tp.Time), true
	}
	return "", false
}

// eventValue returns the value of a macro drawn from the event (the device's fields of the
// install event, or the event's own for an event), and false for a macro that is not.
func (s *Source) eventValue(macro string) (string, bool) {
	e := s.Event
	if e == nil {
		e = &unmogrowp.Event{}
	}
	own := s.ActivityKind == unmogrowp.TriggerEvent // the event_* macros: only for an event
	switch macro {
	case "os_version":
		return e.OSVersion, true
	case "app_version":
		return e.AppVersion, true
	case "country":
		return e.Country, true
	case "idfa":
		return e.IDFA, true
	case "idfv":
		return e.IDFV, true
	case "gaid":
		return e.GAID, true
	case "android_id":
		return e.AndroidID, true
	case "ip":
		return e.IP, true
	case "user_agent":
		return e.UserAgent, true
	case "event_name":
		return ifOwn(own, e.EventType), true
	case "event_id":
		return ifOwn(own, e.EventID), true
	case "event_unix_ts":
		return ifOwn(own, unixString(e.Timestamp)), true
	case "event_revenue":
		if own && e.HasRevenue {
			return strconv.FormatFloat(e.Revenue, 'f', -1, 64), true
		}
		return "", true
	case "event_currency":
		if own && e.HasRevenue {
			return e.Currency, true
		}
		return "", true
	case "event_data_json":
		return ifOwn(own, string(e.EventData)), true
	}
	return "", false
}

// ctit is the touchpoint's click-to-install time in whole seconds: the decision's for the
// winning touchpoint, install time minus touch time for a rejected one.
func (s *Source) ctit() string {
	switch {
	case s.Install == nil || s.Touch == nil:
		return ""
	case s.Rejection == nil && s.Install.Attributed:
		return strconv.FormatInt(s.Install.CTITSeconds, 10)
	case s.Touch.Time.IsZero() || s.Install.InstallTime.IsZero():
		return ""
	}
	d := s.Install.InstallTime.Sub(s.Touch.Time)
	secs := int64(d / time.Second)
	if d < 0 && d%time.Second != 0 {
		secs-- // rounded down, as Attribution.CTITSeconds
	}
	return strconv.FormatInt(secs, 10)
}

// rejectReasonValue is what made a touchpoint rejected: the CTIT for click injection, the
// app's blocklist entry that holds its address for a blocked IP.
func (s *Source) rejectReasonValue() string {
	if s.Rejection == nil {
		return ""
	}
	switch s.Rejection.Reason {
	case unmogrowp.RejectClickInjection:
		return s.ctit()
	case unmogrowp.RejectBlockedIP:
		if s.Touch == nil || s.App == nil {
			return ""
		}
		ip, err := netip.ParseAddr(s.Touch.IP)
		if err != nil {
			return ""
		}
		for _, c := range s.App.Settings.IPBlocklist {
			if p, err := netip.ParsePrefix(c); err == nil && p.Contains(ip.Unmap()) {
				return c
			}
			if a, err := netip.ParseAddr(c); err == nil && a.Unmap() == ip.Unmap() {
				return c
			}
		}
	}
	return ""
}

func ifOwn(own bool, v string) string {
	if own {
		return v
	}
	return ""
}

// unixString is t in unix seconds, "" for the zero time.
func unixString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.Unix(), 10)
}
