package inmem_test

import (
	"context"
	"testing"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/inmem"
)

// TestOpenURL: Open takes memory: and nothing else.
func TestOpenURL(t *testing.T) {
	t.Parallel()
	s, err := inmem.Open(context.Background(), "memory:", inmem.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "memory:x", "redis://h:6379/0", "mem:"} {
		if _, err := inmem.Open(context.Background(), bad, inmem.Options{}); unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
			t.Errorf("Open(%q): %v, want code %s", bad, err, unmogrowp.EINVALID)
		}
	}
}
