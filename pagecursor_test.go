package unmogrowp_test

import (
	"testing"

	"github.com/unmogrowp/unmogrowp"
)

// FuzzPageCursor checks that ParsePageCursor, which reads what API clients send back,
// never panics, and that a cursor it accepts encodes back to itself, byte for byte, so
// that a page has one cursor (base64's decoder skips line breaks, for one).
func FuzzPageCursor(f *testing.F) {
	f.Add(unmogrowp.PageCursor{Time: 1_772_500_000_123_456, Partition: 3, Offset: 1 << 40}.String())
	f.Add(unmogrowp.PageCursor{Time: -62135596800000000, Partition: -1, Offset: -1}.String())
	f.Add("")
	f.Add("AQ")
	f.Add("AX00000000\r000000000000000000")
	f.Fuzz(func(t *testing.T, s string) {
		if c, ok := unmogrowp.ParsePageCursor(s); ok && c.String() != s {
			t.Errorf("ParsePageCursor(%q) = %+v, which encodes to %q", s, c, c.String())
		}
	})
}
