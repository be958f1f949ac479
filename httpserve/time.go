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
// any other text, and for a field out of range (which time.Parse then refuses). The date
// becomes days since the epoch by the proleptic Gregorian calendar (as time.Date counts
// them), without time.Date's normalisation.
func parseUTCTime(s string) (time.Time, bool) {
	if len(s) < len("2006-01-02T15:04:05Z") || len(s) > len("2006-01-02T15:04:05.999999999Z") ||
		s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[len(s)-1] != 'Z' {
		return time.Time{}, false
	}
	_ = s[19]
	year := digits2(s, 0)*100 + digits2(s, 2)
	month, day, hour, minute, sec := digits2(s, 5), digits2(s, 8), digits2(s, 11), digits2(s, 14), digits2(s, 17)
	nsec := 0
	if frac := s[19 : len(s)-1]; frac != "" {
		if frac[0] != '.' || len(frac) < 2 {
			return time.Time{}, false
		}
		for i := 1; i < len(frac); i++ {
			d := frac[i] - '0'
			if d > 9 {
				return time.Time{}, false
			}
			nsec = nsec*10 + int(d)
		}
		for range 10 - len(frac) {
			nsec *= 10
		}
	}
	if year < 0 || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	// Days from 0000-03-01 (a year then starts in March, so that February, and its leap
	// day, ends it), less those to 1970-01-01.
	y := year
	if month <= 2 {
		y--
	}
	era := (y + 400) / 400 // y >= -1: eras of 400 years, from year -400
	yoe := y + 400 - era*400
	doy := (153*((month+9)%12)+2)/5 + day - 1
	days := (era-1)*146097 + yoe*365 + yoe/4 - yoe/100 + doy - 719468
	return time.Unix(int64(days)*86400+int64(hour*3600+minute*60+sec), int64(nsec)).UTC(), true
}

// digits2 returns the number of the two digits at s[i], or -10000 when they are not both
// digits (so that a year made of two of them is negative too).
func digits2(s string, i int) int {
	a, b := s[i]-'0', s[i+1]-'0'
	if a > 9 || b > 9 {
		return -10000
	}
	return int(a)*10 + int(b)
}

// daysIn returns the number of days of month (1 to 12) in year, Gregorian.
func daysIn(month, year int) int {
	if month == 2 {
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return 30 + (month+month/8)%2
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
