package postbacktest

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/unmogrowp/unmogrowp"
)

// RunConsentStore is the conformance suite of unmogrowp.ConsentStore, its subtests in
// parallel; open must return a fresh, empty store for each call and close it when the
// test ends.
func RunConsentStore(t *testing.T, open func(t *testing.T) unmogrowp.ConsentStore) {
	t.Run("Latest", func(t *testing.T) { t.Parallel(); testConsentLatest(t, open(t)) })
	t.Run("Invalid", func(t *testing.T) { t.Parallel(); testConsentInvalid(t, open(t)) })
	t.Run("Many", func(t *testing.T) { t.Parallel(); testConsentMany(t, open(t)) })
}

func consents(t *testing.T, s unmogrowp.ConsentStore, app string, devices ...string) map[string]unmogrowp.Consent {
	t.Helper()
	got, err := s.Consents(context.Background(), app, devices)
	if err != nil {
		t.Fatalf("Consents: %v", err)
	}
	return got
}

func setConsents(t *testing.T, s unmogrowp.ConsentStore, cs ...unmogrowp.Consent) {
	t.Helper()
	if err := s.SetConsents(context.Background(), cs); err != nil {
		t.Fatalf("SetConsents: %v", err)
	}
}

// testConsentLatest checks that a device keeps its latest statement in the log, whatever
// order they are recorded in, apart from another app's device of the same id.
func testConsentLatest(t *testing.T, s unmogrowp.ConsentStore) {
	no := unmogrowp.Consent{AppID: "app-1", DeviceID: "dev-1", Partition: 0, Offset: 10, Sharing: false}
	setConsents(t, s, no)
	if got := consents(t, s, "app-1", "dev-1", "dev-2"); !reflect.DeepEqual(got, map[string]unmogrowp.Consent{"dev-1": no}) {
		t.Fatalf("after one statement: %+v", got)
	}
	if got := consents(t, s, "app-2", "dev-1"); len(got) != 0 {
		t.Fatalf("another app's device of the same id: %+v", got)
	}
	older := unmogrowp.Consent{AppID: "app-1", DeviceID: "dev-1", Partition: 0, Offset: 9, Sharing: true}
	same := unmogrowp.Consent{AppID: "app-1", DeviceID: "dev-1", Partition: 0, Offset: 10, Sharing: true}
	setConsents(t, s, older, same) // a replay of older batches
	if got := consents(t, s, "app-1", "dev-1")["dev-1"]; got != no {
		t.Fatalf("an older or equal statement replaced the stored one: %+v", got)
	}
	// In one call, the later of a device's statements wins, in whatever order they come.
	yes := unmogrowp.Consent{AppID: "app-1", DeviceID: "dev-1", Partition: 0, Offset: 20, Sharing: true}
	again := unmogrowp.Consent{AppID: "app-1", DeviceID: "dev-1", Partition: 0, Offset: 15, Sharing: false}
	other := unmogrowp.Consent{AppID: "app-2", DeviceID: "dev-1", Partition: 1, Offset: 3, Sharing: false}
	setConsents(t, s, yes, again, other)
	if got := consents(t, s, "app-1", "dev-1")["dev-1"]; got != yes {
		t.Fatalf("after a later true: %+v, want %+v", got, yes)
	}
	if got := consents(t, s, "app-2", "dev-1")["dev-1"]; got != other {
		t.Fatalf("app-2's device: %+v, want %+v", got, other)
	}
	// A statement from another partition (the device's records moved) replaces it.
	moved := unmogrowp.Consent{AppID: "app-1", DeviceID: "dev-1", Partition: 3, Offset: 1, Sharing: false}
	setConsents(t, s, moved)
	if got := consents(t, s, "app-1", "dev-1")["dev-1"]; got != moved {
		t.Fatalf("after a statement of another partition: %+v, want %+v", got, moved)
	}
	if err := s.SetConsents(context.Background(), nil); err != nil {
		t.Fatalf("an empty SetConsents: %v", err)
	}
}

func testConsentInvalid(t *testing.T, s unmogrowp.ConsentStore) {
	ok := unmogrowp.Consent{AppID: "app-1", DeviceID: "dev-1", Offset: 1}
	wantCode(t, s.SetConsents(context.Background(), []unmogrowp.Consent{ok, {AppID: "app-1"}}), unmogrowp.EINVALID)
	wantCode(t, s.SetConsents(context.Background(), []unmogrowp.Consent{{DeviceID: "dev-1"}}), unmogrowp.EINVALID)
	if got := consents(t, s, "app-1", "dev-1"); len(got) != 0 {
		t.Fatalf("a refused call recorded %+v", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.SetConsents(ctx, []unmogrowp.Consent{ok}); err != context.Canceled {
		t.Fatalf("SetConsents with a canceled context = %v", err)
	}
	if _, err := s.Consents(ctx, "app-1", []string{"dev-1"}); err != context.Canceled {
		t.Fatalf("Consents with a canceled context = %v", err)
	}
}

// testConsentMany records and reads more devices than one statement of a store takes.
func testConsentMany(t *testing.T, s unmogrowp.ConsentStore) {
	var cs []unmogrowp.Consent
	var devices []string
	for i := range 1200 {
		d := fmt.Sprintf("dev-%04d", i)
		devices = append(devices, d)
		cs = append(cs, unmogrowp.Consent{AppID: "app-1", DeviceID: d, Offset: int64(i), Sharing: i%2 == 0})
	}
	setConsents(t, s, cs...)
	got := consents(t, s, "app-1", append(devices, "nobody")...)
	if len(got) != len(cs) {
		t.Fatalf("read %d statements, want %d", len(got), len(cs))
	}
	for _, c := range cs {
		if got[c.DeviceID] != c {
			t.Fatalf("%s: %+v, want %+v", c.DeviceID, got[c.DeviceID], c)
		}
	}
}
