package redis

import (
	"reflect"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/hotstatetest"
)

func TestTouchpointRoundTrip(t *testing.T) {
	for i, want := range hotstatetest.RealisticTouchpoints(2000, 1, time.Now()) {
		want.Partition, want.Offset = int32(i%7)-3, int64(i)<<35-1
		var got unmogrowp.Touchpoint
		if err := decodeTouchpoint(appendTouchpoint(nil, &want), &got); err != nil {
			t.Fatalf("touchpoint %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("touchpoint %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
}

func TestInstallRoundTrip(t *testing.T) {
	installs := hotstatetest.RealisticInstalls(2000, 1, time.Now())
	installs = append(installs, unmogrowp.Install{}, unmogrowp.Install{Partition: -1, Offset: -1 << 63,
		Attribution: unmogrowp.Attribution{CTITSeconds: -5, Rejected: []unmogrowp.Rejection{{}}}})
	for i, want := range installs {
		if i < 2000 {
			want.Partition, want.Offset = int32(i%7)-3, int64(i)<<35-1
		}
		var got unmogrowp.Install
		if err := decodeInstall(string(appendInstall(nil, &want)), &got); err != nil {
			t.Fatalf("install %d: %v", i, err)
		}
		if len(want.Rejected) == 0 {
			want.Rejected = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("install %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
}

// FuzzDecode feeds both decoders arbitrary values: they must never panic, and what decodes
// must encode back to the same bytes.
func FuzzDecode(f *testing.F) {
	for _, tp := range hotstatetest.RealisticTouchpoints(5, 2, time.Now()) {
		f.Add(appendTouchpoint(nil, &tp))
	}
	for _, in := range hotstatetest.RealisticInstalls(20, 2, time.Now()) {
		f.Add(appendInstall(nil, &in))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var tp unmogrowp.Touchpoint
		if decodeTouchpoint(b, &tp) == nil {
			var again unmogrowp.Touchpoint
			if err := decodeTouchpoint(appendTouchpoint(nil, &tp), &again); err != nil || !reflect.DeepEqual(again, tp) {
				t.Errorf("touchpoint does not round-trip: %v", err)
			}
		}
		var in unmogrowp.Install
		if decodeInstall(string(b), &in) == nil {
			var again unmogrowp.Install
			if err := decodeInstall(string(appendInstall(nil, &in)), &again); err != nil || !reflect.DeepEqual(again, in) {
				t.Errorf("install does not round-trip: %v", err)
			}
		}
	})
}
