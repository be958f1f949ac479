package httpserve

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The times requests may give: after the unix epoch (unix seconds and milliseconds are
// positive; RFC 3339 times keep to the same range) and in a year of four digits, as RFC
// 3339 writes them.
var (
	minTime = time.Unix(0, 0).UTC()                                    // excluded
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC) // included
)

// Unix seconds and milliseconds of maxTime, whole.
const (
	maxUnixSeconds = 253402300799
	maxUnixMillis  = maxUnixSeconds*1000 + 999
)

// TimeRangeRule says which times are taken, after "<field> is out of range: ": the
// message of ErrTimeRange for a field.
const TimeRangeRule = "a time must fall after 1970-01-01T00:00:00Z and before the year 10000: unix seconds up to 253402300799, or unix milliseconds above 1e12 up to 253402300799999."

// ErrTimeRange is the error of a well-formed time out of the range (minTime, maxTime].
var ErrTimeRange = errors.New("time out of range")

// ParseTimeText parses the text of a JSON string as RFC 3339, or else as the unix seconds
// or milliseconds it holds, spaces around them allowed. It returns ErrTimeRange for a time
// out of (minTime, maxTime].
func ParseTimeText(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		if t = t.UTC(); !t.After(minTime) || t.After(maxTime) {
			return time.Time{}, ErrTimeRange
		}
		return t, nil
	}
	return ParseUnixTime(strings.TrimSpace(s))
}

// ParseUnixTime parses a number of unix seconds, or of unix milliseconds (values above
// 1e12). It returns ErrTimeRange for a number out of range (UnixTime).
func ParseUnixTime(s string) (time.Time, error) {
	f, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil && !errors.Is(err, strconv.ErrRange), math.IsNaN(f), err == nil && math.IsInf(f, 0):
		return time.Time{}, fmt.Errorf("not a time: %q", s) // "NaN" and "Inf" are not numbers of JSON
	}
	if t, ok := UnixTime(f); ok {
		return t, nil
	}
	return time.Time{}, ErrTimeRange
}

// UnixTime returns the time of f unix seconds, or of f unix milliseconds when f is above
// 1e12, in UTC to the microsecond. It is false for NaN, and for f out of the range of
// times (minTime, maxTime]: at most 0, seconds above maxUnixSeconds, milliseconds above
// maxUnixMillis (which the infinities are).
func UnixTime(f float64) (time.Time, bool) {
	switch {
	case math.IsNaN(f) || f <= 0 || f > maxUnixMillis || f <= 1e12 && f > maxUnixSeconds:
		return time.Time{}, false
	case f > 1e12:
		return time.UnixMicro(int64(f * 1e3)).UTC(), true
	}
	return time.UnixMicro(int64(f * 1e6)).UTC(), true
}

// ParseTime parses a time as the contract takes it in query strings and bodies: unix
// seconds, unix milliseconds (values above 1e12), or RFC 3339.
func ParseTime(s string) (time.Time, error) {
	if strings.HasPrefix(s, `"`) {
		return time.Time{}, fmt.Errorf("not a time: %q", s)
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	return ParseUnixTime(s)
}
