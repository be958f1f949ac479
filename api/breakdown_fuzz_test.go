package api

import (
	"net/url"
	"slices"
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

// FuzzParseRetention feeds parseRetention any query string: it must never panic, refuse
// only with EINVALID, and accept only known dimensions, each once in by, and filters on
// known dimensions with values.
func FuzzParseRetention(f *testing.F) {
	for _, s := range []string{
		"", "by=media_source", "by=media_source,campaign&filter[platform]=ios", "filter[media_source]=organic,fb",
		"by=planet", "by=campaign,campaign", "filter[=x", "filter]=y", "filter[country]=", "by=,,,&filter[ad]=a,,b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		params, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseRetention(params)
		if err != nil {
			if unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
				t.Fatalf("%q: error %v is not EINVALID", raw, err)
			}
			return
		}
		for i, d := range q.By {
			if !slices.Contains(unmogrowp.BreakdownDimensions, d) || slices.Contains(q.By[:i], d) {
				t.Fatalf("%q: accepted by %v", raw, q.By)
			}
		}
		for d, vs := range q.Filters {
			if !slices.Contains(unmogrowp.BreakdownDimensions, d) || len(vs) == 0 {
				t.Fatalf("%q: accepted filter %s=%v", raw, d, vs)
			}
		}
	})
}

// FuzzBreakdownCursor feeds parseBreakdownCursor any string: what it accepts must be the
// cursor breakdownCursor makes of the offset it reads, byte for byte.
func FuzzBreakdownCursor(f *testing.F) {
	for _, s := range []string{"", breakdownCursor(0), breakdownCursor(20), "Yjo", "Yjox\nMA", "Yjox\rMA", "Yjotma"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, c string) {
		if n, ok := parseBreakdownCursor(c); ok && breakdownCursor(n) != c {
			t.Errorf("parseBreakdownCursor(%q) = %d, whose cursor is %q", c, n, breakdownCursor(n))
		}
	})
}
