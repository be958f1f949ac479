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
	t, ok := parseUTCTime(s)
	if !ok {
		var err error
		if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return ParseUnixTime(strings.TrimSpace(s))
		}
	}
	if t = t.UTC(); !t.After(minTime) || t.After(maxTime) {
		return time.Time{}, ErrTimeRange
	}
	return t, nil
}

// parseUTCTime parses the form of RFC 3339 that senders write most,
// YYYY-MM-DDTHH:MM:SS[.F]Z with one to nine digits of fraction, to the time that
// time.Parse(time.RFC3339Nano, s) returns, in a fraction of its time. It is false for
// any other text, and for a field out of range (which time.Parse then refuses).
func parseUTCTime(s string) (time.Time, bool) {
	if len(s) < len("2006-01-02T15:04:05Z") || len(s) > len("2006-01-02T15:04:05.999999999Z") ||
		s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[len(s)-1] != 'Z' {
		return time.Time{}, false
	}
	num := func(s string) int { // the digits of s, or -1
		n := 0
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return -1
			}
			n = n*10 + int(s[i]-'0')
		}
		return n
	}
	year, month, day, hour, minute, sec := num(s[0:4]), num(s[5:7]), num(s[8:10]), num(s[11:13]), num(s[14:16]), num(s[17:19])
	nsec := 0
	if frac := s[19 : len(s)-1]; frac != "" {
		if frac[0] != '.' || len(frac) < 2 {
			return time.Time{}, false
		}
		if nsec = num(frac[1:]); nsec < 0 {
			return time.Time{}, false
		}
		for range 10 - len(frac) {
			nsec *= 10
		}
	}
	if year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return t, t.Day() == day // else past the end of its month, which time.Parse refuses
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
