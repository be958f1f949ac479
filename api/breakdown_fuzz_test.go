package api

import (
	"net/url"
	"testing"

	"github.com/unmogrowp/unmogrowp"
)

// FuzzParseBreakdown feeds parseBreakdown any query string: it must never panic, and what
// it accepts must be a valid query (Validate again changes nothing it refuses) whose
// cursor, if any, round-trips.
func FuzzParseBreakdown(f *testing.F) {
	for _, s := range []string{
		"", "by=media_source,campaign&metrics=installs,cost", "filter[country]=US,FR&filter[media_source]=fb",
		"compare=previous_period&sort=-revenue&metrics=revenue", "limit=10&cursor=" + breakdownCursor(20),
		"filter[=x", "filter]=y", "by=,,,", "metrics=installs&sort=-", "cursor=Yjo", "event_type=purchase",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		params, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseBreakdown(params)
		if err != nil {
			if unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
				t.Fatalf("%q: error %v is not EINVALID", raw, err)
			}
			return
		}
		if err := q.Validate(); err != nil {
			t.Fatalf("%q: accepted, then invalid: %v", raw, err)
		}
		if n, ok := parseBreakdownCursor(breakdownCursor(q.Offset)); !ok || n != q.Offset {
			t.Fatalf("cursor of %d reads %d, %v", q.Offset, n, ok)
		}
	})
}
