package inmem_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/attribution"
	"github.com/unmogrowp/unmogrowp/inmem"
	"github.com/unmogrowp/unmogrowp/internal/hotstatetest"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestConformance(t *testing.T) {
	hotstatetest.Run(t, func(t *testing.T) unmogrowp.HotState {
		return inmem.New(inmem.Options{Logger: quiet()})
	})
}

// clock is a fake clock safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var ctx = context.Background()

func TestRetention(t *testing.T) {
	start := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	c := &clock{t: start}
	const retention = 8 * 24 * time.Hour // generations of one day
	s := inmem.New(inmem.Options{Retention: retention, Now: c.Now, Logger: quiet(), SweepInterval: -1})
	defer s.Close()

	// One touchpoint per hour over the last 10 days, all under one gaid.
	const gaid = "38400000-8cf0-11bd-b23e-10b96e40000d"
	var tps []unmogrowp.Touchpoint
	for h := range 10 * 24 {
		tps = append(tps, unmogrowp.Touchpoint{ID: fmt.Sprintf("tp-%03d", h), AppID: "app1",
			Type: unmogrowp.TouchClick, GAID: gaid, Time: start.Add(-time.Duration(h) * time.Hour)})
	}
	if err := s.Apply(ctx, tps, nil); err != nil {
		t.Fatal(err)
	}
	// check looks everything up and tests what is kept against the clock.
	check := func(what string) {
		t.Helper()
		keys := make([]string, len(tps)) // by id: one key holds at most MaxCandidatesPerKey
		for i, tp := range tps {
			keys[i] = "tp:" + tp.ID
		}
		got, err := s.Candidates(ctx, "app1", keys)
		if err != nil {
			t.Fatal(err)
		}
		kept := map[string]bool{}
		for _, tp := range got {
			kept[tp.ID] = true
		}
		cutoff := c.Now().Add(-retention)
		for _, tp := range tps {
			switch age := c.Now().Sub(tp.Time); {
			case !tp.Time.Before(cutoff) && !kept[tp.ID]:
				t.Errorf("%s: %s touched %v ago, within retention, was dropped", what, tp.ID, age)
			case age > retention+retention/8 && kept[tp.ID]:
				t.Errorf("%s: %s touched %v ago is still kept", what, tp.ID, age)
			}
		}
		if st := s.Stats(); st.Touchpoints != len(got) {
			t.Errorf("%s: Stats().Touchpoints = %d, Candidates found %d", what, st.Touchpoints, len(got))
		}
	}
	check("at apply") // touchpoints already past retention were not stored
	for range 4 {
		c.Advance(17 * time.Hour)
		s.Expire()
		check(fmt.Sprintf("at %v", c.Now().Sub(start)))
	}
	// Apply expires too.
	c.Advance(3 * 24 * time.Hour)
	if err := s.Apply(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	check("after Apply")
	c.Advance(retention + retention/8)
	s.Expire()
	if st := s.Stats(); st.Touchpoints != 0 || st.Generations != 0 || st.TouchpointBytes != 0 {
		t.Errorf("after everything expired: Stats = %+v", st)
	}
}

func TestBackgroundSweep(t *testing.T) {
	start := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	c := &clock{t: start}
	s := inmem.New(inmem.Options{Retention: time.Hour, Now: c.Now, Logger: quiet(), SweepInterval: time.Millisecond})
	defer s.Close()
	tp := unmogrowp.Touchpoint{ID: "tp", AppID: "app1", Type: unmogrowp.TouchClick, Time: start}
	if err := s.Apply(ctx, []unmogrowp.Touchpoint{tp}, nil); err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Hour)
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Touchpoints != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the background sweep did not drop an expired touchpoint")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestClosed(t *testing.T) {
	s := inmem.New(inmem.Options{Logger: quiet()})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Candidates(ctx, "app1", []string{"tp:x"}); unmogrowp.ErrorCode(err) != unmogrowp.EUNAVAILABLE {
		t.Errorf("Candidates after Close: %v", err)
	}
	if _, _, err := s.Device(ctx, "app1", "d"); unmogrowp.ErrorCode(err) != unmogrowp.EUNAVAILABLE {
		t.Errorf("Device after Close: %v", err)
	}
	if err := s.Apply(ctx, nil, nil); unmogrowp.ErrorCode(err) != unmogrowp.EUNAVAILABLE {
		t.Errorf("Apply after Close: %v", err)
	}
}

// TestNoDuplicates: a touchpoint found under several of the keys asked for comes back once.
func TestNoDuplicates(t *testing.T) {
	s := inmem.New(inmem.Options{Logger: quiet()})
	defer s.Close()
	now := time.Now()
	tps := hotstatetest.RealisticTouchpoints(2000, 1, now)
	if err := s.Apply(ctx, tps, nil); err != nil {
		t.Fatal(err)
	}
	for i, tp := range tps[:200] {
		got, err := s.Candidates(ctx, tp.AppID, attribution.TouchpointKeys(&tps[i]).Strings())
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, c := range got {
			if seen[c.ID] {
				t.Fatalf("touchpoint %s returned twice", c.ID)
			}
			seen[c.ID] = true
		}
		if !seen[tp.ID] {
			t.Fatalf("touchpoint %s not found by its own keys", tp.ID)
		}
	}
}

// TestRealisticRoundTrip applies realistic data twice (so interned and inline strings
// both occur) and reads every touchpoint and device back.
func TestRealisticRoundTrip(t *testing.T) {
	s := inmem.New(inmem.Options{Logger: quiet()})
	defer s.Close()
	now := time.Now()
	tps := hotstatetest.RealisticTouchpoints(3000, 2, now)
	ins := hotstatetest.RealisticInstalls(3000, 3, now)
	for range 2 {
		if err := s.Apply(ctx, tps, ins); err != nil {
			t.Fatal(err)
		}
	}
	if st := s.Stats(); st.Touchpoints != len(tps) || st.Devices != len(ins) {
		t.Fatalf("Stats = %+v, want %d touchpoints and %d devices", st, len(tps), len(ins))
	}
	for _, want := range tps {
		got, err := s.Candidates(ctx, want.AppID, []string{"tp:" + want.ID})
		if err != nil || len(got) != 1 {
			t.Fatalf("Candidates(tp:%s) = %d, %v", want.ID, len(got), err)
		}
		if got[0] != want {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got[0], want)
		}
	}
	for _, want := range ins {
		got, ok, err := s.Device(ctx, want.AppID, want.DeviceID)
		if err != nil || !ok {
			t.Fatalf("Device(%s) = %v, %v", want.DeviceID, ok, err)
		}
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
		}
	}
}

// TestDeviceCompaction replaces the decisions of many devices until the shards compact,
// and checks that every device keeps its latest.
func TestDeviceCompaction(t *testing.T) {
	s := inmem.New(inmem.Options{Logger: quiet()})
	defer s.Close()
	ins := hotstatetest.RealisticInstalls(2000, 4, time.Now())
	for round := range 30 {
		for i := range ins {
			ins[i].Offset += int64(len(ins))
			ins[i].Campaign = fmt.Sprintf("round %d", round)
		}
		if err := s.Apply(ctx, nil, ins); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range ins {
		got, ok, err := s.Device(ctx, want.AppID, want.DeviceID)
		if err != nil || !ok || got.Campaign != want.Campaign || got.Offset != want.Offset {
			t.Fatalf("Device(%s) = %q at %d, %v, %v; want %q at %d", want.DeviceID, got.Campaign, got.Offset, ok, err, want.Campaign, want.Offset)
		}
	}
	// 30 rounds of ~60-byte records would be ~3.6 MB without compaction.
	if st := s.Stats(); st.DeviceBytes > 1<<20 {
		t.Errorf("device arenas hold %d bytes for %d devices: not compacted", st.DeviceBytes, st.Devices)
	}
}

// TestCandidateSets checks CandidateSets' invariant: for random subsets of a batch's keys
// (touchpoint ids, device ids, fingerprints, a fingerprint and a device id with more than
// MaxCandidatesPerKey touchpoints, an unknown kind, a key with nothing), the touchpoints at
// the union of the subset's sets, in ascending order, are exactly what Candidates returns
// for the subset, in its order; and tps holds each touchpoint once.
func TestCandidateSets(t *testing.T) {
	s := inmem.New(inmem.Options{Logger: quiet()})
	defer s.Close()
	now := time.Now().UTC().Truncate(time.Microsecond)
	tps := hotstatetest.RealisticTouchpoints(20_000, 5, now)
	app := tps[0].AppID
	flood := tps[0] // clicks from one address and device, past the bound under their keys
	for i := range 3 * unmogrowp.MaxCandidatesPerKey {
		tp := flood
		tp.ID, tp.Time = fmt.Sprintf("flood-%d", i), now.Add(-time.Duration(i)*time.Minute)
		tp.UserAgent = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"
		tp.IP, tp.GAID, tp.IDFA = "198.51.100.7", "38400000-8cf0-11bd-b23e-10b96e40000d", ""
		tps = append(tps, tp)
	}
	if err := s.Apply(ctx, tps, nil); err != nil {
		t.Fatal(err)
	}
	keys := []string{"x:unknown-kind", "gaid:00000000-0000-4000-8000-000000000000"}
	for i := range tps {
		if tps[i].AppID == app && len(keys) < 60 || i == len(tps)-1 {
			keys = append(keys, attribution.TouchpointKeys(&tps[i]).Strings()...)
		}
	}
	keys = slices.Compact(slices.Sorted(slices.Values(keys)))
	got, sets, err := s.CandidateSets(ctx, app, keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) != len(keys) {
		t.Fatalf("%d sets for %d keys", len(sets), len(keys))
	}
	ids := map[string]bool{}
	for _, tp := range got {
		if ids[tp.ID] {
			t.Fatalf("touchpoint %s held twice", tp.ID)
		}
		ids[tp.ID] = true
	}
	largest := 0
	for _, set := range sets {
		largest = max(largest, len(set))
	}
	if largest < unmogrowp.MaxCandidatesPerKey {
		t.Fatalf("no key reached the bound (largest set %d): the test does not exercise it", largest)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		var subset []string
		var union []int32
		for i, k := range keys {
			if rng.IntN(8) == 0 {
				subset = append(subset, k)
				union = append(union, sets[i]...)
			}
		}
		slices.Sort(union)
		union = slices.Compact(union)
		want, err := s.Candidates(ctx, app, subset)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) != len(union) {
			t.Fatalf("keys %v: the sets hold %d touchpoints, Candidates returns %d", subset, len(union), len(want))
		}
		for i, j := range union {
			if !reflect.DeepEqual(got[j], want[i]) {
				t.Fatalf("keys %v: touchpoint %d of the sets is\n%+v\nCandidates'\n%+v", subset, i, got[j], want[i])
			}
		}
	}
}
