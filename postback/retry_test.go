package postback

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

func TestParseRetryDelays(t *testing.T) {
	got, err := ParseRetryDelays("1m,5m,30m,2h,6h,24h")
	if err != nil || !slices.Equal(got, DefaultRetryDelays) {
		t.Fatalf("ParseRetryDelays(default) = %v, %v", got, err)
	}
	if got, err := ParseRetryDelays(" 10s , 1m "); err != nil || !slices.Equal(got, []time.Duration{10 * time.Second, time.Minute}) {
		t.Fatalf("ParseRetryDelays with spaces = %v, %v", got, err)
	}
	if got, err := ParseRetryDelays(""); err != nil || len(got) != 0 {
		t.Fatalf(`ParseRetryDelays("") = %v, %v; want no retry`, got, err)
	}
	for _, bad := range []string{"1d", "5m,,1h", "-1m", "0s"} {
		if _, err := ParseRetryDelays(bad); unmogrowp.ErrorCode(err) != unmogrowp.EINVALID || !strings.Contains(unmogrowp.ErrorMessage(err), "POSTBACK_RETRY_DELAYS") {
			t.Errorf("ParseRetryDelays(%q) = %v, want EINVALID", bad, err)
		}
	}
}

// With the default delays a delivery is attempted seven times: retried after each of the
// first six failures, failed at the seventh.
func TestNextAttempt(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	d := unmogrowp.Delivery{ID: "d", LeaseToken: "t"}
	retry := Outcome{Result: Retry, HTTPStatus: 500, Error: "The destination answered 500 Internal Server Error."}
	for i, delay := range DefaultRetryDelays {
		d.Attempts = i
		a, metric := NextAttempt(&d, retry, now, DefaultRetryDelays)
		if a.Status != unmogrowp.DeliveryPending || !a.NextAttemptAt.Equal(now.Add(delay)) || metric != "retried" || a.LeaseToken != "t" {
			t.Fatalf("attempt %d: %+v %s, want pending for %v", i+1, a, metric, delay)
		}
	}
	d.Attempts = len(DefaultRetryDelays)
	a, metric := NextAttempt(&d, retry, now, DefaultRetryDelays)
	if a.Status != unmogrowp.DeliveryFailed || metric != "failed" || a.Error != retry.Error+" Gave up after 7 attempts." {
		t.Fatalf("seventh attempt: %+v %s", a, metric)
	}
	for _, c := range []struct {
		o              Outcome
		status, metric string
	}{
		{Outcome{Result: Delivered, HTTPStatus: 200}, unmogrowp.DeliveryDelivered, "delivered"},
		{Outcome{Result: Failed, HTTPStatus: 404}, unmogrowp.DeliveryFailed, "failed"},
		{Outcome{Result: Refused}, unmogrowp.DeliveryFailed, "refused"},
	} {
		d.Attempts = 0
		if a, metric := NextAttempt(&d, c.o, now, DefaultRetryDelays); a.Status != c.status || metric != c.metric || a.HTTPStatus != c.o.HTTPStatus {
			t.Errorf("%s: %+v %s, want %s %s", c.o.Result, a, metric, c.status, c.metric)
		}
	}
}
