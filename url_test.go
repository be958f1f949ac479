package unmogrowp_test

import (
	"testing"

	"github.com/unmogrowp/unmogrowp"
)

func TestFilePath(t *testing.T) {
	for _, tt := range []struct{ raw, want string }{
		{"wal:///var/lib/unmogrowp/wal", "/var/lib/unmogrowp/wal"},
		{"wal:/var/lib/wal", "/var/lib/wal"},
		{"wal:./data/wal", "./data/wal"},
		{"wal:data/wal", "data/wal"},
		{"wal:data dir/100%/wal", "data dir/100%/wal"}, // literal, not percent-decoded
		{"/bare/path", "/bare/path"},
		{"data/wal", "data/wal"},
	} {
		got, err := unmogrowp.FilePath("wal", tt.raw)
		if err != nil || got != tt.want {
			t.Errorf("FilePath(wal, %q) = %q, %v; want %q", tt.raw, got, err, tt.want)
		}
		if tt.raw[:4] == "wal:" {
			if back, _ := unmogrowp.FilePath("wal", unmogrowp.FileURL("wal", got)); back != got {
				t.Errorf("FileURL(%q) does not round-trip: %q", got, back)
			}
		}
	}
	for _, bad := range []string{"wal:", "wal://", "wal://host/dir", "wal:///dir?x=1", "wal:dir#frag", "duckdb:///x", "kafka://b:9092/t"} {
		if got, err := unmogrowp.FilePath("wal", bad); unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
			t.Errorf("FilePath(wal, %q) = %q, %v; want code %s", bad, got, err, unmogrowp.EINVALID)
		}
	}
}
