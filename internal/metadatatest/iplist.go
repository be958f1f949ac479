package metadatatest

import (
	"context"
	"net/netip"
	"reflect"
	"testing"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// RunIPListStore runs the conformance suite of unmogrowp.IPListStore. open must return a
// fresh, empty store each time it is called, and close it when t ends.
func RunIPListStore(t *testing.T, open func(t *testing.T) unmogrowp.IPListStore) {
	t.Run("PutReplacesAndVersionChanges", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx := context.Background()
		version := func() string {
			t.Helper()
			v, err := s.IPListsVersion(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		v0 := version()
		if lists, err := s.IPLists(ctx); err != nil || len(lists) != 0 {
			t.Fatalf("a new store has lists %v (err %v)", lists, err)
		}
		aws := []netip.Prefix{netip.MustParsePrefix("3.5.140.0/22"), netip.MustParsePrefix("2600:1f14::/35")}
		if err := s.PutIPList(ctx, unmogrowp.IPList{Name: "aws", Prefixes: aws}); err != nil {
			t.Fatal(err)
		}
		v1 := version()
		gcp := []netip.Prefix{netip.MustParsePrefix("34.1.208.0/20")}
		if err := s.PutIPList(ctx, unmogrowp.IPList{Name: "gcp", Prefixes: gcp}); err != nil {
			t.Fatal(err)
		}
		v2 := version()
		aws2 := aws[:1]
		if err := s.PutIPList(ctx, unmogrowp.IPList{Name: "aws", Prefixes: aws2}); err != nil {
			t.Fatal(err)
		}
		v3 := version()
		if v0 == v1 || v1 == v2 || v2 == v3 || v0 == v3 {
			t.Fatalf("versions do not change with each put: %q %q %q %q", v0, v1, v2, v3)
		}
		if version() != v3 {
			t.Fatal("the version changed without a put")
		}
		lists, err := s.IPLists(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(lists) != 2 || lists[0].Name != "aws" || lists[1].Name != "gcp" ||
			!reflect.DeepEqual(lists[0].Prefixes, aws2) || !reflect.DeepEqual(lists[1].Prefixes, gcp) || lists[0].ImportedAt.IsZero() {
			t.Fatalf("lists %+v", lists)
		}
	})
	t.Run("EmptyNameInvalid", func(t *testing.T) {
		t.Parallel()
		wantCode(t, open(t).PutIPList(context.Background(), unmogrowp.IPList{Name: " "}), unmogrowp.EINVALID)
	})
}
