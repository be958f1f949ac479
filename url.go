package unmogrowp

import "strings"

// FilePath returns the path that raw names for a store kept in files under scheme ("wal",
// "duckdb", "sqlite"): scheme:relative/path, scheme:///absolute/path (or scheme:/absolute/path),
// or a bare path without any scheme, returned as is. The path is taken literally, not
// percent-decoded, so that any directory name round-trips. It returns EINVALID for
// another scheme, a host, a query, a fragment or an empty path after the scheme.
func FilePath(scheme, raw string) (string, error) {
	rest, ok := strings.CutPrefix(raw, scheme+":")
	if !ok {
		if strings.Contains(raw, "://") {
			return "", Errorf(EINVALID, "A %s URL must start with %s:, not %q.", scheme, scheme, raw[:strings.Index(raw, "://")+3])
		}
		return raw, nil
	}
	if after, ok := strings.CutPrefix(rest, "//"); ok {
		if !strings.HasPrefix(after, "/") {
			return "", Errorf(EINVALID, "A %s URL names a path on this machine, no host: %s:///absolute/path or %s:relative/path.", scheme, scheme, scheme)
		}
		rest = after
	}
	if rest == "" || strings.ContainsAny(rest, "?#") {
		return "", Errorf(EINVALID, "A %s URL must be %s:relative/path or %s:///absolute/path, without a query.", scheme, scheme, scheme)
	}
	return rest, nil
}

// FileURL is the URL of path under scheme, which FilePath turns back into path:
// scheme:///abs for an absolute path, scheme:rel for a relative one.
func FileURL(scheme, path string) string {
	if strings.HasPrefix(path, "/") {
		return scheme + "://" + path
	}
	return scheme + ":" + path
}
