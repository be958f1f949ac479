package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// The suite's tests of touchpoints and of batches that mix the three kinds of rows.

func testTouchpointRoundTrip(t *testing.T, open func(*testing.T) unmogrowp.EventStore) {
	s := open(t)

	// Full touchpoints, one an impression with tricky strings, one with its times given in
	// another zone (the store hands them back in UTC), and a minimal one; the fixtures'
	// touch times increase with the slice index.
	want := []unmogrowp.Touchpoint{
		FullTouchpoint(0, 1, 1), FullTouchpoint(0, 2, 2), FullTouchpoint(1, 7, 3),
		FullTouchpoint(1<<31-1, 1<<40, 4), MinimalTouchpoint(3, 0, "app-min", 10*time.Minute),
	}
	want[1].Type, want[1].AppID = unmogrowp.TouchImpression, "app-'\"-ü"
	want[1].Campaign, want[1].UserAgent = "Grüße, 東京, 🎉 '; DROP TABLE touchpoints; --", "line one\nline two\t\\"
	want[1].Sub[2], want[1].DeepLinkValue = "nul\x00inside", "myapp://product?id=7&ref=a%20b"
	want[0].CostModel, want[0].CostValue, want[0].CostCurrency = unmogrowp.CostCPC, 0.35, "EUR"
	want[3].CostModel, want[3].CostValue, want[3].CostCurrency = unmogrowp.CostCPI, 1e9, "USD"
	tokyo := time.FixedZone("JST", 9*3600)
	want[3].Time, want[3].ReceivedAt = want[3].Time.In(tokyo), want[3].ReceivedAt.In(tokyo)

	mustAppend(t, s, unmogrowp.Batch{Touchpoints: want[:2]})
	mustAppend(t, s, unmogrowp.Batch{Touchpoints: want[2:]})
	got := scanTouchpoints(t, s, unmogrowp.TouchpointFilter{})
	if len(got) != len(want) {
		t.Fatalf("ScanTouchpoints returned %d touchpoints, want %d", len(got), len(want))
	}
	for i := range want {
		if d := DiffTouchpoint(want[i], got[i]); d != "" {
			t.Errorf("touchpoint %d (%s) differs: %s", i, tpPos(want[i]), d)
		}
	}
	// Filters take the strings as values, never as SQL.
	if got := scanTouchpoints(t, s, unmogrowp.TouchpointFilter{AppID: want[1].AppID}); len(got) != 1 || got[0].ID != want[1].ID {
		t.Errorf("ScanTouchpoints by the tricky app id returned %d touchpoints, want %s", len(got), want[1].ID)
	}
}

// touchFixture is the data set of the touchpoint filter tests: (partition, offset, app,
// minutes after base).
var touchFixture = []struct {
	p   int32
	o   int64
	app string
	min int
}{
	{0, 1, "app-a", 0},
	{0, 10, "app-a", 1},
	{1, 1, "app-b", 1},
	{0, 9, "app-a", 1},
	{0, 3, "app-a", 2},
	{1, 2, "app-b", 3},
	{0, 4, "app-a", 4},
	{1, 1 << 33, "app-c", 5},
	{0, 5, "app-a", 6},
	{2, 0, "app-a", 60 * 24}, // a day later
}

func testTouchpointFilters(t *testing.T, open func(*testing.T) unmogrowp.EventStore) {
	ctx := context.Background()
	s := open(t)
	var tps []unmogrowp.Touchpoint
	for i, f := range touchFixture {
		tp := FullTouchpoint(f.p, f.o, i)
		tp.AppID, tp.Time = f.app, at(time.Duration(f.min)*time.Minute)
		tps = append(tps, tp)
	}
	mustAppend(t, s, unmogrowp.Batch{Touchpoints: tps[:4]})
	mustAppend(t, s, unmogrowp.Batch{Touchpoints: tps[4:]})
	byPos := map[string]unmogrowp.Touchpoint{}
	for _, tp := range tps {
		byPos[tpPos(tp)] = tp
	}

	m := func(n int) time.Time { return at(time.Duration(n) * time.Minute) }
	big := fmt.Sprintf("1:%d", int64(1)<<33)
	tests := []struct {
		name string
		f    unmogrowp.TouchpointFilter
		want []string // partition:offset, in the expected order
	}{
		{"all, ties by partition then offset", unmogrowp.TouchpointFilter{}, []string{"0:1", "0:9", "0:10", "1:1", "0:3", "1:2", "0:4", big, "0:5", "2:0"}},
		{"app a", unmogrowp.TouchpointFilter{AppID: "app-a"}, []string{"0:1", "0:9", "0:10", "0:3", "0:4", "0:5", "2:0"}},
		{"unknown app", unmogrowp.TouchpointFilter{AppID: "app-x"}, nil},
		{"app id is not a prefix match", unmogrowp.TouchpointFilter{AppID: "app"}, nil},
		{"from is inclusive", unmogrowp.TouchpointFilter{From: m(4)}, []string{"0:4", big, "0:5", "2:0"}},
		{"from one microsecond later", unmogrowp.TouchpointFilter{From: m(4).Add(time.Microsecond)}, []string{big, "0:5", "2:0"}},
		{"to is exclusive", unmogrowp.TouchpointFilter{To: m(1)}, []string{"0:1"}},
		{"to one microsecond later", unmogrowp.TouchpointFilter{To: m(1).Add(time.Microsecond)}, []string{"0:1", "0:9", "0:10", "1:1"}},
		{"from and to", unmogrowp.TouchpointFilter{From: m(2), To: m(5)}, []string{"0:3", "1:2", "0:4"}},
		{"from in another zone", unmogrowp.TouchpointFilter{From: m(5).In(time.FixedZone("X", -5*3600))}, []string{big, "0:5", "2:0"}},
		{"from equals to", unmogrowp.TouchpointFilter{From: m(2), To: m(2)}, nil},
		{"limit", unmogrowp.TouchpointFilter{Limit: 3}, []string{"0:1", "0:9", "0:10"}},
		{"limit with app and from", unmogrowp.TouchpointFilter{AppID: "app-a", From: m(1), Limit: 4}, []string{"0:9", "0:10", "0:3", "0:4"}},
		{"limit above matches", unmogrowp.TouchpointFilter{AppID: "app-b", Limit: 100}, []string{"1:1", "1:2"}},
		{"everything at once", unmogrowp.TouchpointFilter{AppID: "app-a", From: m(1), To: m(6), Limit: 10}, []string{"0:9", "0:10", "0:3", "0:4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scanTouchpoints(t, s, tt.f)
			var gotPos []string
			for _, tp := range got {
				gotPos = append(gotPos, tpPos(tp))
			}
			if !slices.Equal(gotPos, tt.want) {
				t.Fatalf("ScanTouchpoints(%+v) = %v, want %v", tt.f, gotPos, tt.want)
			}
			for _, tp := range got {
				if d := DiffTouchpoint(byPos[tpPos(tp)], tp); d != "" {
					t.Errorf("touchpoint %s differs: %s", tpPos(tp), d)
				}
			}
		})
	}

	t.Run("fn's error stops the scan", func(t *testing.T) {
		errStop := errors.New("stop")
		calls := 0
		err := s.ScanTouchpoints(ctx, unmogrowp.TouchpointFilter{}, func(*unmogrowp.Touchpoint) error {
			calls++
			return errStop
		})
		if !errors.Is(err, errStop) || calls != 1 {
			t.Fatalf("ScanTouchpoints = %v after %d calls, want %v after 1", err, calls, errStop)
		}
	})
}

func testMixedBatch(t *testing.T, open func(*testing.T) unmogrowp.EventStore) {
	ctx := context.Background()
	s := open(t)
	b := unmogrowp.Batch{
		Events:      []unmogrowp.Event{FullEvent(0, 1, 1), FullEvent(0, 3, 3), FullEvent(1, 2, 2)},
		Touchpoints: []unmogrowp.Touchpoint{FullTouchpoint(0, 2, 1), FullTouchpoint(0, 6, 2), FullTouchpoint(2, 4, 3)},
		Installs:    []unmogrowp.Install{FullInstall(0, 1, 1), FullInstall(0, 3, 3)},
	}

	// All or nothing: a batch that fails (here, canceled) leaves no row of any kind.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Append(cctx, b); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with a canceled context = %v, want context.Canceled", err)
	}
	assertEmpty(t, s)

	mustAppend(t, s, b)
	checkCounts(t, s, "mixed batch", 3, 3, 2)
	checkWatermarks(t, s, "mixed batch: touchpoints count", map[int32]int64{0: 6, 1: 2, 2: 4})

	mustAppend(t, s, unmogrowp.Batch{Touchpoints: []unmogrowp.Touchpoint{FullTouchpoint(1, 10, 4), FullTouchpoint(3, 0, 5)}})
	checkCounts(t, s, "touchpoints only", 3, 5, 2)
	checkWatermarks(t, s, "touchpoints only: raised and new", map[int32]int64{0: 6, 1: 10, 2: 4, 3: 0})

	in := FullInstall(1, 2, 2)
	mustAppend(t, s, unmogrowp.Batch{Installs: []unmogrowp.Install{in}})
	checkCounts(t, s, "installs only", 3, 5, 3)
	got, err := s.Attribution(ctx, in.AppID, in.DeviceID)
	if err != nil {
		t.Fatalf("Attribution of the install appended alone: %v", err)
	}
	if d := DiffInstall(in, *got); d != "" {
		t.Errorf("install appended alone differs: %s", d)
	}

	// Each kind is stored whole, with the others.
	for i, want := range b.Events {
		got := mustEvents(t, s, unmogrowp.EventFilter{DeviceID: want.DeviceID})
		if len(got) != 1 {
			t.Fatalf("event %d: %d stored, want 1", i, len(got))
		}
		if d := Diff(want, got[0]); d != "" {
			t.Errorf("event %d differs: %s", i, d)
		}
	}
	tps := scanTouchpoints(t, s, unmogrowp.TouchpointFilter{To: at(4 * time.Minute)})
	if len(tps) != len(b.Touchpoints) {
		t.Fatalf("ScanTouchpoints returned %d touchpoints of the mixed batch, want %d", len(tps), len(b.Touchpoints))
	}
	for i, want := range b.Touchpoints {
		if d := DiffTouchpoint(want, tps[i]); d != "" {
			t.Errorf("touchpoint %d differs: %s", i, d)
		}
	}
}

// checkCounts checks how many events, touchpoints and installs s holds.
func checkCounts(t *testing.T, s unmogrowp.EventStore, step string, events, touchpoints, installs int) {
	t.Helper()
	n, err := s.CountEvents(context.Background(), unmogrowp.EventFilter{})
	if err != nil {
		t.Fatalf("%s: CountEvents: %v", step, err)
	}
	tps := scanTouchpoints(t, s, unmogrowp.TouchpointFilter{})
	ins := scanDevices(t, s)
	if n != int64(events) || len(tps) != touchpoints || len(ins) != installs {
		t.Fatalf("%s: %d events, %d touchpoints, %d devices with installs; want %d, %d, %d",
			step, n, len(tps), len(ins), events, touchpoints, installs)
	}
}

// checkWatermarks checks s's watermarks.
func checkWatermarks(t *testing.T, s unmogrowp.EventStore, step string, want map[int32]int64) {
	t.Helper()
	got, err := s.Watermarks(context.Background())
	if err != nil {
		t.Fatalf("%s: Watermarks: %v", step, err)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: Watermarks = %v, want %v", step, got, want)
	}
	for p, o := range want {
		if g, ok := got[p]; !ok || g != o {
			t.Fatalf("%s: Watermarks = %v, want %v", step, got, want)
		}
	}
}

// mustAppend appends b to s.
func mustAppend(t *testing.T, s unmogrowp.EventStore, b unmogrowp.Batch) {
	t.Helper()
	if err := s.Append(context.Background(), b); err != nil {
		t.Fatalf("Append(%d events, %d touchpoints, %d installs): %v", len(b.Events), len(b.Touchpoints), len(b.Installs), err)
	}
}

// scanTouchpoints returns copies of the touchpoints ScanTouchpoints yields for f.
func scanTouchpoints(t *testing.T, s unmogrowp.EventStore, f unmogrowp.TouchpointFilter) []unmogrowp.Touchpoint {
	t.Helper()
	var tps []unmogrowp.Touchpoint
	err := s.ScanTouchpoints(context.Background(), f, func(tp *unmogrowp.Touchpoint) error {
		tps = append(tps, *tp)
		return nil
	})
	if err != nil {
		t.Fatalf("ScanTouchpoints(%+v): %v", f, err)
	}
	return tps
}

func tpPos(tp unmogrowp.Touchpoint) string { return fmt.Sprintf("%d:%d", tp.Partition, tp.Offset) }
