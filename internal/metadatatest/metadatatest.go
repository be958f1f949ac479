// Package metadatatest is the conformance suite of the metadata store: package metadata
// runs it from its own tests on each engine (SQLite, PostgreSQL).
package metadatatest

import (
	"reflect"
	"strings"
	"testing"
	"time"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// wantCode fails the test unless err carries the error code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := unmogrowp.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (err %v), want %q", got, err, code)
	}
}

// wantMessage fails the test unless err carries code and its message contains each part.
func wantMessage(t *testing.T, err error, code string, parts ...string) {
	t.Helper()
	wantCode(t, err, code)
	msg := unmogrowp.ErrorMessage(err)
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Fatalf("error message %q does not contain %q", msg, p)
		}
	}
}

// wantStored fails the test unless got and want, each a stored kind of value, hold the
// same values: the creation times at returns compared as instants and got's in UTC, the
// rest with reflect.DeepEqual.
func wantStored[T any](t *testing.T, kind string, got, want *T, at func(*T) *time.Time) {
	t.Helper()
	if got == nil {
		t.Fatalf("got nil %s, want %+v", kind, want)
	}
	g, w := *got, *want
	if !at(&g).Equal(*at(&w)) {
		t.Errorf("CreatedAt = %v, want %v", *at(&g), *at(&w))
	}
	if at(&g).Location() != time.UTC {
		t.Errorf("CreatedAt location = %v, want UTC", at(&g).Location())
	}
	*at(&g), *at(&w) = time.Time{}, time.Time{}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s differs:\n got %+v\nwant %+v", kind, g, w)
	}
}

// changeChar returns s with the byte at i replaced by another character of the same kind
// (digit or letter), so the result still looks like a key.
func changeChar(s string, i int) string {
	b := []byte(s)
	switch c := b[i]; {
	case c == '9':
		b[i] = '0'
	case c == 'z':
		b[i] = 'a'
	case c == 'Z':
		b[i] = 'A'
	default:
		b[i]++
	}
	return string(b)
}

// swapCase returns s with the case of its first letter at or after from swapped, and false
// if it has no letter there.
func swapCase(s string, from int) (string, bool) {
	b := []byte(s)
	for i := from; i < len(b); i++ {
		switch c := b[i]; {
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
			return string(b), true
		case c >= 'A' && c <= 'Z':
			b[i] = c - 'A' + 'a'
			return string(b), true
		}
	}
	return s, false
}
