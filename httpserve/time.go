package httpserve

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseUnixTime parses a number of unix seconds, or of unix milliseconds (values above
// 1e12).
func ParseUnixTime(s string) (time.Time, error) {
	f, err := strconv.ParseFloat(s, 64)
	if t, ok := UnixTime(f); err == nil && ok {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("not a time: %q", s)
}

// UnixTime returns the time of f unix seconds, or of f unix milliseconds when f is above
// 1e12, in UTC to the microsecond. It is false for NaN, the infinities and for f outside
// (0, 1e16].
func UnixTime(f float64) (time.Time, bool) {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 || f > 1e16:
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
