package hotstatetest

import (
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/attribution"
)

// LookupKeys returns the candidate keys of n installs: half are installs of devices that
// touched (by referrer for a third of those, else by device id and fingerprint, as their
// SDK reports them), half organic installs of devices never seen: the lookups of the hot states' benchmarks.
func LookupKeys(tps []unmogrowp.Touchpoint, n int) (apps []string, keys [][]string) {
	fresh := RealisticTouchpoints(n, 99, time.Now())
	for i := range n {
		tp := &tps[(i*7919)%len(tps)]
		if i%2 == 1 {
			tp = &fresh[i]
		}
		d := attribution.ParseUserAgent(tp.UserAgent)
		in := unmogrowp.Event{AppID: tp.AppID, IDFA: tp.IDFA, GAID: tp.GAID, AndroidID: tp.AndroidID,
			DeviceID: tp.DeviceID, IP: tp.IP, Platform: d.Platform, OSVersion: d.OSVersion, DeviceModel: d.Model}
		if i%6 == 0 {
			in.InstallReferrer = "utm_source=google-play&click_id=" + tp.ID
		}
		apps = append(apps, in.AppID)
		keys = append(keys, attribution.CandidateKeys(&in).Strings())
	}
	return apps, keys
}
