package storetest

import (
	"fmt"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// FullTouchpoint returns a click with every field set, at log position (partition,
// offset), touched i minutes after the fixtures' base time. Strings differ per call
// through i, so that a store mixing up rows is caught.
func FullTouchpoint(partition int32, offset int64, i int) unmogrowp.Touchpoint {
	return unmogrowp.Touchpoint{
		Partition:     partition,
		Offset:        offset,
		ID:            fmt.Sprintf("tp-%06d", i),
		AppID:         "app-full",
		Type:          unmogrowp.TouchClick,
		LinkID:        fmt.Sprintf("link-%d", i),
		MediaSource:   "facebook_ads",
		Campaign:      fmt.Sprintf("spring-%d", i),
		Adset:         fmt.Sprintf("adset-%d", i),
		Ad:            fmt.Sprintf("ad-%d", i),
		SiteID:        fmt.Sprintf("site-%d", i),
		Channel:       "instagram",
		ClickID:       fmt.Sprintf("fb-click-%d", i),
		Time:          at(time.Duration(i)*time.Minute + 314159*time.Microsecond),
		ReceivedAt:    at(time.Duration(i)*time.Minute + time.Second + 271828*time.Microsecond),
		IP:            fmt.Sprintf("203.0.113.%d", i%256),
		UserAgent:     "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15",
		IDFA:          fmt.Sprintf("6D92078A-8246-4BA4-AE5B-%012d", i),
		GAID:          fmt.Sprintf("38400000-8cf0-11bd-b23e-%012d", i),
		AndroidID:     fmt.Sprintf("9774d56d%08x", i),
		DeviceID:      fmt.Sprintf("device-%d", i),
		DeepLinkValue: fmt.Sprintf("product/%d", i),
		Sub:           [5]string{fmt.Sprintf("s1-%d", i), "s2", "s3", "s4", fmt.Sprintf("s5-%d", i)},
	}
}

// MinimalTouchpoint returns an impression with only what ingestion always sets: log
// position, id, app, type, touch time (base plus d) and receive time. Every other field is
// zero.
func MinimalTouchpoint(partition int32, offset int64, app string, d time.Duration) unmogrowp.Touchpoint {
	return unmogrowp.Touchpoint{
		Partition:  partition,
		Offset:     offset,
		ID:         fmt.Sprintf("tp-min-%d-%d", partition, offset),
		AppID:      app,
		Type:       unmogrowp.TouchImpression,
		Time:       at(d),
		ReceivedAt: at(d + time.Second),
	}
}

// FullInstall returns an install decision with every field set, at log position
// (partition, offset): a re-attribution to a click, installed i minutes after the
// fixtures' base time, with two rejected touchpoints. Strings differ per call through i.
func FullInstall(partition int32, offset int64, i int) unmogrowp.Install {
	installTime := at(time.Duration(i)*time.Minute + 161803*time.Microsecond)
	touchTime := at(time.Duration(i)*time.Minute - 90*time.Minute + 141421*time.Microsecond)
	return unmogrowp.Install{
		Partition: partition,
		Offset:    offset,
		Attribution: unmogrowp.Attribution{
			AppID:             "app-full",
			DeviceID:          fmt.Sprintf("device-%d", i),
			InstallEventID:    fmt.Sprintf("evt-%06d", i),
			InstallTime:       installTime,
			Attributed:        true,
			MatchType:         unmogrowp.MatchDeviceID,
			TouchType:         unmogrowp.TouchClick,
			TouchpointID:      fmt.Sprintf("tp-%06d", i),
			TouchTime:         touchTime,
			MediaSource:       "facebook_ads",
			Campaign:          fmt.Sprintf("spring-%d", i),
			Adset:             fmt.Sprintf("adset-%d", i),
			Ad:                fmt.Sprintf("ad-%d", i),
			SiteID:            fmt.Sprintf("site-%d", i),
			Channel:           "instagram",
			ClickID:           fmt.Sprintf("fb-click-%d", i),
			DeepLinkValue:     fmt.Sprintf("product/%d", i),
			CTITSeconds:       int64(installTime.Sub(touchTime) / time.Second),
			IsReattribution:   true,
			ReattributionKind: unmogrowp.ReattributionReengagement,
			Rejected: []unmogrowp.Rejection{
				{TouchpointID: fmt.Sprintf("tp-inj-%d", i), MediaSource: "shady_net", Reason: unmogrowp.RejectClickInjection},
				{TouchpointID: fmt.Sprintf("tp-ip-%d", i), MediaSource: "other_net", Reason: unmogrowp.RejectBlockedIP},
			},
		},
		FirstInstallTime:    installTime.Add(-30*24*time.Hour - 7*time.Microsecond),
		OriginalMediaSource: "google_ads",
		OriginalCampaign:    fmt.Sprintf("winter-%d", i),
	}
}

// OrganicInstall returns the decision of a new organic install of the app's device at log
// position (partition, offset), installed at base plus d: no touchpoint (zero touch
// time), nothing rejected, first install time equal to the install time.
func OrganicInstall(partition int32, offset int64, app, device string, d time.Duration) unmogrowp.Install {
	return unmogrowp.Install{
		Partition: partition,
		Offset:    offset,
		Attribution: unmogrowp.Attribution{
			AppID:          app,
			DeviceID:       device,
			InstallEventID: fmt.Sprintf("evt-%d-%d", partition, offset),
			InstallTime:    at(d),
			MatchType:      unmogrowp.MatchOrganic,
			MediaSource:    unmogrowp.MediaSourceOrganic,
		},
		FirstInstallTime: at(d),
	}
}

// NormalizeTouchpoint returns tp as a store gives it back: times in UTC at microsecond
// precision.
func NormalizeTouchpoint(tp unmogrowp.Touchpoint) unmogrowp.Touchpoint {
	tp.Time, tp.ReceivedAt = normTime(tp.Time), normTime(tp.ReceivedAt)
	return tp
}

// NormalizeInstall returns in as a store gives it back: times in UTC at microsecond
// precision, an empty Rejected as nil.
func NormalizeInstall(in unmogrowp.Install) unmogrowp.Install {
	in.InstallTime, in.TouchTime = normTime(in.InstallTime), normTime(in.TouchTime)
	in.FirstInstallTime = normTime(in.FirstInstallTime)
	if len(in.Rejected) == 0 {
		in.Rejected = nil
	}
	return in
}

// DiffTouchpoint describes how got differs from want, field by field, or returns "" when
// they are equal. Times compare with Equal and must be in UTC.
func DiffTouchpoint(want, got unmogrowp.Touchpoint) string {
	return diffFields(NormalizeTouchpoint(want), got)
}

// DiffInstall describes how got differs from want, field by field, or returns "" when
// they are equal. Times compare with Equal and must be in UTC (a zero touch time stays
// zero); Rejected compares in order, nil and empty alike.
func DiffInstall(want, got unmogrowp.Install) string {
	if len(got.Rejected) == 0 {
		got.Rejected = nil
	}
	return diffFields(NormalizeInstall(want), got)
}
