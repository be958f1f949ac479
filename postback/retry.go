package postback

import (
	"fmt"
	"strings"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// DefaultRetryDelays are the waits before each retry (POSTBACK_RETRY_DELAYS): seven
// attempts in all, over about 33 hours.
var DefaultRetryDelays = []time.Duration{
	time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 6 * time.Hour, 24 * time.Hour,
}

// ParseRetryDelays parses POSTBACK_RETRY_DELAYS: positive durations separated by commas
// ("1m,5m,30m,2h,6h,24h"); "" means no retry. Returns EINVALID naming the bad entry.
func ParseRetryDelays(s string) ([]time.Duration, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var ds []time.Duration
	for _, f := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil || d <= 0 {
			return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "POSTBACK_RETRY_DELAYS: %q is not a positive duration such as 5m or 2h.", strings.TrimSpace(f))
		}
		ds = append(ds, d)
	}
	return ds, nil
}

// Metric results of an attempt: the result label of unmogrowp_postbacks_total.
const (
	metricDelivered = "delivered"
	metricRetried   = "retried"
	metricFailed    = "failed"
	metricRefused   = "refused"
)

// NextAttempt returns what to record of the attempt of d that ended at now with outcome o
// (whose Result is not Aborted), and its metric result. A retryable outcome leaves d
// pending, due again after delays[k-1] where k counts the attempts made with this one,
// until there is no delay left: d then fails, after len(delays)+1 attempts in all. A
// failed or refused outcome fails d at once.
func NextAttempt(d *unmogrowp.Delivery, o Outcome, now time.Time, delays []time.Duration) (unmogrowp.Attempt, string) {
	a := unmogrowp.Attempt{
		ID: d.ID, LeaseToken: d.LeaseToken, At: now, HTTPStatus: o.HTTPStatus, Error: o.Error,
	}
	made := d.Attempts + 1
	switch o.Result {
	case Delivered:
		a.Status = unmogrowp.DeliveryDelivered
		return a, metricDelivered
	case Refused:
		a.Status = unmogrowp.DeliveryFailed
		return a, metricRefused
	case Retry:
		if made <= len(delays) {
			a.Status, a.NextAttemptAt = unmogrowp.DeliveryPending, now.Add(delays[made-1])
			return a, metricRetried
		}
		a.Error = fmt.Sprintf("%s Gave up after %d attempts.", o.Error, made)
	}
	a.Status = unmogrowp.DeliveryFailed
	return a, metricFailed
}
