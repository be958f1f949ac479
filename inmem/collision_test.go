package inmem

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/attribution"
)

func quietState() *State {
	return New(Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// gaid returns the i-th gaid of these tests.
func gaid(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

// TestTouchpointTagCollision stores touchpoints under two gaids whose tags collide, and
// checks that each lookup finds all of its own (and maybe the other's), before and after
// the table grows.
func TestTouchpointTagCollision(t *testing.T) {
	const a, b = 17616, 24992 // found by search: same tag in app1
	if keyTag(appSeed("app1"), 2, gaid(a)) != keyTag(appSeed("app1"), 2, gaid(b)) {
		t.Fatal("the gaids no longer collide: search for another pair")
	}
	s := quietState()
	defer s.Close()
	at := time.Now().Add(-time.Hour)
	tp := func(id string, g int) unmogrowp.Touchpoint {
		return unmogrowp.Touchpoint{ID: id, AppID: "app1", Type: unmogrowp.TouchClick, GAID: gaid(g), Time: at}
	}
	apply := func(tps ...unmogrowp.Touchpoint) {
		if err := s.Apply(t.Context(), tps, nil); err != nil {
			t.Fatal(err)
		}
	}
	check := func(g int, want ...string) {
		t.Helper()
		got, err := s.Candidates(t.Context(), "app1", []string{"gaid:" + gaid(g)})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, tp := range got {
			ids = append(ids, tp.ID)
		}
		for _, id := range want {
			if !slices.Contains(ids, id) {
				t.Errorf("gaid %d: got %q, missing %q", g, ids, id)
			}
		}
	}
	apply(tp("a1", a), tp("b1", b), tp("a2", a))
	check(a, "a1", "a2")
	check(b, "b1")
	// Grow the table well past its first size.
	var many []unmogrowp.Touchpoint
	for i := range 5000 {
		many = append(many, tp(fmt.Sprintf("m%d", i), 100000+i))
	}
	apply(many...)
	apply(tp("b2", b))
	check(a, "a1", "a2")
	check(b, "b1", "b2")
	check(100042, "m42")
}

// TestDeviceTagCollision applies installs of two devices whose tags collide in one shard.
func TestDeviceTagCollision(t *testing.T) {
	const a, b = "device-190874", "device-233400" // found by search: same shard and tag in app1
	ha, hb := deviceHash("app1", a), deviceHash("app1", b)
	if ha>>58 != hb>>58 || uint32(ha) != uint32(hb) {
		t.Fatal("the devices no longer collide: search for another pair")
	}
	s := quietState()
	defer s.Close()
	in := func(device string, offset int64, campaign string) unmogrowp.Install {
		return unmogrowp.Install{Offset: offset, Attribution: unmogrowp.Attribution{AppID: "app1", DeviceID: device, Campaign: campaign}}
	}
	check := func(device, campaign string) {
		t.Helper()
		got, ok, err := s.Device(t.Context(), "app1", device)
		if err != nil || !ok || got.Campaign != campaign || got.DeviceID != device {
			t.Errorf("Device(%s) = %q of %q, %v, %v; want %q", device, got.Campaign, got.DeviceID, ok, err, campaign)
		}
	}
	apply := func(ins ...unmogrowp.Install) {
		if err := s.Apply(t.Context(), nil, ins); err != nil {
			t.Fatal(err)
		}
	}
	apply(in(a, 1, "a1"))
	if _, ok, _ := s.Device(t.Context(), "app1", b); ok {
		t.Errorf("Device(%s) found before it had an install", b)
	}
	apply(in(b, 2, "b1"))
	check(a, "a1")
	check(b, "b1")
	apply(in(b, 3, "b2"), in(a, 4, "a2"), in(b, 1, "older"))
	check(a, "a2")
	check(b, "b2")
	if st := s.Stats(); st.Devices != 2 {
		t.Errorf("Stats().Devices = %d, want 2", st.Devices)
	}
	// Compaction moves both.
	for i := range 3000 {
		apply(in(a, int64(10+2*i), fmt.Sprintf("a%d", i)), in(b, int64(11+2*i), fmt.Sprintf("b%d", i)))
	}
	check(a, "a2999")
	check(b, "b2999")
}

// TestKeyKinds checks that every key attribution makes for a touchpoint has a kind of
// its own here, so that none is left out of the index.
func TestKeyKinds(t *testing.T) {
	tp := unmogrowp.Touchpoint{ID: "tp", AppID: "app1", IDFA: "6D92078A-8246-4BA4-AE5B-76104861E7DC",
		GAID: "38400000-8cf0-11bd-b23e-10b96e40000d", AndroidID: "9774d56d682e549c", DeviceID: "dev",
		IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UD1A.230803.041) AppleWebKit/537.36"}
	keys := attribution.TouchpointKeys(&tp).Strings()
	if len(keys) != len(keyPrefixes) {
		t.Fatalf("keys %q: want one of each of %q", keys, keyPrefixes)
	}
	probes, lost := storeProbes(nil, "app1", keys)
	for _, p := range probes {
		if p.kind >= kindOther {
			t.Errorf("a key of unknown kind: %+v among %q", p, keys)
		}
	}
	if lost != 0 || len(probes) != len(keys) {
		t.Errorf("%d keys lost, %d probes for %d keys", lost, len(probes), len(keys))
	}
	// Keys of unknown kinds: two fit, the third is lost.
	probes, lost = storeProbes(nil, "app1", []string{"x:1", "tp:a", "y:2", "z:3"})
	if lost != 1 || len(probes) != 3 || probes[0].kind != kindTouchpointID || probes[1].kind != kindOther {
		t.Errorf("unknown kinds: %+v, lost %d", probes, lost)
	}
}

// TestGenerationSizing: the generation that traffic moves on to is sized like the largest
// one; one for a touch time in the future starts small.
func TestGenerationSizing(t *testing.T) {
	s := quietState()
	defer s.Close()
	now := time.Now()
	var tps []unmogrowp.Touchpoint
	for i := range 20000 {
		tps = append(tps, unmogrowp.Touchpoint{ID: fmt.Sprint(i), AppID: "app1", GAID: gaid(i), Time: now.Add(-5 * 24 * time.Hour)})
	}
	tps = append(tps, unmogrowp.Touchpoint{ID: "now", AppID: "app1", Time: now},
		unmogrowp.Touchpoint{ID: "future", AppID: "app1", Time: now.Add(30 * 24 * time.Hour)})
	if err := s.Apply(t.Context(), tps, nil); err != nil {
		t.Fatal(err)
	}
	gens := s.idx.gens
	if len(gens) != 3 {
		t.Fatalf("%d generations, want 3", len(gens))
	}
	if big, cur, future := len(gens[0].heads.slots), len(gens[1].heads.slots), len(gens[2].heads.slots); cur < big/2 || future != minTableSlots {
		t.Errorf("table slots: %d for 20000 touchpoints, %d for the current generation, %d for the future one", big, cur, future)
	}
}
