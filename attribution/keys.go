package attribution

import (
	"net/url"
	"strings"

	"github.com/unmogrowp/unmogrowp"
)

// Keys are the lookup keys that connect installs to touchpoints in a hot-state index. An
// index stores each touchpoint under TouchpointKeys(tp) and, for an install, fetches the
// touchpoints stored under any of CandidateKeys(install); Decide then checks every rule
// again, so the index may return more than it needs to (a superset, duplicates included)
// but must not miss any. Keys are relative to one app: an index shared by apps must scope
// them by app id.
type Keys struct {
	// TouchpointID is, for a touchpoint, its own id; for an install, the click_id named by
	// its install referrer ("" when none).
	TouchpointID string

	// DeviceIDs are the non-zero device ids, each prefixed by its kind:
	// "idfa:<lower-case>", "gaid:<lower-case>", "android_id:<lower-case>",
	// "device_id:<as sent>". Equal keys mean the same id of the same kind.
	DeviceIDs []string

	// Fingerprint is Fingerprint.Key() ("" when there is none). An install's is worth
	// looking up only when the app has fingerprint_enabled.
	Fingerprint string
}

// Strings lists the keys as strings, each prefixed by its kind: "tp:<touchpoint id>", the
// device id keys as they are ("idfa:...", "gaid:...", "android_id:...", "device_id:..."),
// and "fp:<fingerprint key>". Absent keys are left out. This is the form a HotState
// stores and looks touchpoints up by.
func (k Keys) Strings() []string {
	out := make([]string, 0, len(k.DeviceIDs)+2)
	if k.TouchpointID != "" {
		out = append(out, "tp:"+k.TouchpointID)
	}
	out = append(out, k.DeviceIDs...)
	if k.Fingerprint != "" {
		out = append(out, "fp:"+k.Fingerprint)
	}
	return out
}

// CandidateKeys lists the keys under which an install's candidate touchpoints are found.
func CandidateKeys(install *unmogrowp.Event) Keys {
	return Keys{
		TouchpointID: ReferrerClickID(install.InstallReferrer),
		DeviceIDs:    deviceIDKeys(install.IDFA, install.GAID, install.AndroidID, install.DeviceID),
		Fingerprint:  InstallFingerprint(install).Key(),
	}
}

// TouchpointKeys lists the keys under which an index stores a touchpoint.
func TouchpointKeys(tp *unmogrowp.Touchpoint) Keys {
	return Keys{
		TouchpointID: tp.ID,
		DeviceIDs:    deviceIDKeys(tp.IDFA, tp.GAID, tp.AndroidID, tp.DeviceID),
		Fingerprint:  TouchpointFingerprint(tp).Key(),
	}
}

// deviceIDs are the device ids of one side, normalised for comparison; "" is absent.
type deviceIDs [4]string

// Kinds of device id, in deviceIDs order.
var deviceIDKinds = [4]string{"idfa:", "gaid:", "android_id:", "device_id:"}

func normalizeDeviceIDs(idfa, gaid, androidID, deviceID string) deviceIDs {
	var ids deviceIDs
	for i, id := range [4]string{idfa, gaid, androidID, deviceID} {
		id = strings.TrimSpace(id)
		if unmogrowp.IsZeroID(id) {
			continue
		}
		if i < 3 { // advertising ids are hex: case does not matter
			id = strings.ToLower(id)
		}
		ids[i] = id
	}
	return ids
}

// matches reports whether ids (normalised) share an id of the same kind with the raw ids of
// a touchpoint, compared as normalizeDeviceIDs would, without building new strings.
func (ids *deviceIDs) matches(idfa, gaid, androidID, deviceID string) bool {
	for i, id := range [4]string{idfa, gaid, androidID, deviceID} {
		if ids[i] == "" || id == "" {
			continue
		}
		id = strings.TrimSpace(id)
		if i < 3 && strings.EqualFold(id, ids[i]) || id == ids[i] {
			return true
		}
	}
	return false
}

func deviceIDKeys(idfa, gaid, androidID, deviceID string) []string {
	ids := normalizeDeviceIDs(idfa, gaid, androidID, deviceID)
	var keys []string
	for i, id := range ids {
		if id != "" {
			keys = append(keys, deviceIDKinds[i]+id)
		}
	}
	return keys
}

// ReferrerClickID returns the click_id of a Google Play install referrer, a URL query string
// such as "click_id=abc&pid=x" (a leading "?" is allowed). A referrer that was URL-encoded
// once more ("click_id%3Dabc%26pid%3Dx") is decoded first. It returns "" when there is no
// click_id.
func ReferrerClickID(ref string) string {
	ref = strings.TrimPrefix(strings.TrimSpace(ref), "?")
	if id := queryValue(ref, "click_id"); id != "" {
		return id
	}
	if strings.Contains(ref, "%3D") || strings.Contains(ref, "%3d") {
		if dec, err := url.QueryUnescape(ref); err == nil {
			return queryValue(dec, "click_id")
		}
	}
	return ""
}

// queryValue returns the first value of key in the query string q, unescaped; "" when
// absent or not decodable.
func queryValue(q, key string) string {
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(pair, "=")
		if k != key {
			continue
		}
		if strings.ContainsAny(v, "%+") {
			dec, err := url.QueryUnescape(v)
			if err != nil {
				return ""
			}
			v = dec
		}
		return v
	}
	return ""
}
