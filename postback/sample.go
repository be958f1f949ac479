package postback

import (
	"encoding/json"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// SampleCampaign is the campaign of SampleSource's touchpoint: it holds a space and an
// ampersand, so that a preview shows how a value is escaped where its macro stands.
const SampleCampaign = "a b&c"

// SampleSource returns made-up values for every macro of an activity of the kind (one of
// the Trigger constants; "" is install) in the app, attributed to mediaSource
// ("sample_network" when empty): what the dashboard's preview and "send a test postback"
// expand templates with. An install and an event are attributed to a click 45 s before
// the install; a rejected install is that click rejected as click injection. Times are
// now's second; the device's identifiers are those of the app's platform.
func SampleSource(app *unmogrowp.App, activityKind, mediaSource string, now time.Time) *Source {
	if activityKind == "" {
		activityKind = unmogrowp.TriggerInstall
	}
	if mediaSource == "" {
		mediaSource = "sample_network"
	}
	now = now.UTC().Truncate(time.Second)
	installTime := now.Add(-time.Minute)
	a := unmogrowp.App{ID: "sample-app", Platform: unmogrowp.PlatformAndroid}
	if app != nil {
		a = *app // a copy: the caller's app is not shared
	}
	ev := &unmogrowp.Event{
		EventID: "sample-install-event", AppID: a.ID, EventType: unmogrowp.EventInstall,
		DeviceID: "sample-device", Timestamp: installTime, Platform: a.Platform, OSVersion: "17.4",
		AppVersion: "1.0.0", Country: "DE", IP: "198.51.100.7",
		UserAgent: "Mozilla/5.0 (sample; like Gecko)",
	}
	if a.Platform == unmogrowp.PlatformIOS {
		ev.IDFA, ev.IDFV = "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"
	} else {
		ev.GAID, ev.AndroidID = "00000000-0000-4000-8000-000000000003", "0123456789abcdef"
	}
	tp := &unmogrowp.Touchpoint{
		ID: "sample-touchpoint", AppID: a.ID, Type: unmogrowp.TouchClick, MediaSource: mediaSource,
		Campaign: SampleCampaign, Adset: "sample adset", Ad: "sample ad", SiteID: "site-1",
		Channel: "sample_channel", ClickID: "sample-click-id", Time: installTime.Add(-45 * time.Second),
		IP: ev.IP, UserAgent: ev.UserAgent, IDFA: ev.IDFA, GAID: ev.GAID,
		Sub: [5]string{"sub1", "sub2", "sub3", "sub4", "sub5"}, DeepLinkValue: "sample/deep link",
	}
	install := &unmogrowp.Attribution{
		AppID: a.ID, DeviceID: ev.DeviceID, InstallEventID: ev.EventID, InstallTime: installTime,
		Attributed: true, MatchType: unmogrowp.MatchDeviceID, TouchType: tp.Type, TouchpointID: tp.ID,
		TouchTime: tp.Time, MediaSource: mediaSource, Campaign: tp.Campaign, Adset: tp.Adset,
		Ad: tp.Ad, SiteID: tp.SiteID, Channel: tp.Channel, ClickID: tp.ClickID,
		DeepLinkValue: tp.DeepLinkValue, CTITSeconds: 45,
		IsReinstall:     activityKind == unmogrowp.TriggerReinstall,
		IsReattribution: activityKind == unmogrowp.TriggerReattribution,
	}
	src := &Source{
		ActivityKind: activityKind, App: &a, Install: install, Touch: TouchOf(install, tp), Event: ev,
	}
	switch activityKind {
	case unmogrowp.TriggerRejectedInstall:
		// The click came 3 s before the install: too soon to be a person's.
		tp.Time = installTime.Add(-3 * time.Second)
		install.Attributed, install.MatchType, install.MediaSource = false, unmogrowp.MatchRejected, unmogrowp.MediaSourceRejected
		install.TouchType, install.TouchpointID, install.TouchTime, install.CTITSeconds = "", "", time.Time{}, 0
		install.Campaign, install.Adset, install.Ad, install.SiteID, install.Channel = "", "", "", "", ""
		install.ClickID, install.DeepLinkValue = "", ""
		rej := unmogrowp.Rejection{TouchpointID: tp.ID, MediaSource: mediaSource, Reason: unmogrowp.RejectClickInjection}
		install.Rejected = []unmogrowp.Rejection{rej}
		src.Touch, src.Rejection = tp, &rej
	case unmogrowp.TriggerEvent:
		src.Event = &unmogrowp.Event{
			EventID: "sample-event", AppID: a.ID, EventType: "purchase", DeviceID: ev.DeviceID,
			Timestamp: now, Platform: ev.Platform, OSVersion: ev.OSVersion, AppVersion: ev.AppVersion,
			Country: ev.Country, IDFA: ev.IDFA, IDFV: ev.IDFV, GAID: ev.GAID, AndroidID: ev.AndroidID,
			IP: ev.IP, UserAgent: ev.UserAgent, Revenue: 9.99, HasRevenue: true, Currency: "EUR",
			EventData: json.RawMessage(`{"sku":"gems_100","quantity":1}`),
		}
	}
	return src
}
