// Package storetest is the conformance suite of unmogrowp.EventStore (Run) and of
// unmogrowp.Reports (RunReports, with golden files shared by all stores): every analytics
// store (package duckdb, package clickhouse) runs them against a real engine, so they all
// keep the same contract and give the same answers.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// Run runs the suite, its subtests in parallel. open must return a fresh, empty store for
// each call, isolated from every other one, and arrange for it to be closed when the test
// ends (t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) unmogrowp.EventStore) {
	tests := []struct {
		name string
		fn   func(*testing.T, func(*testing.T) unmogrowp.EventStore)
	}{
		{"Ping", testPing},
		{"RoundTrip", testRoundTrip},
		{"Filters", testFilters},
		{"Ordering", testOrdering},
		{"Watermarks", testWatermarks},
		{"EmptyAppend", testEmptyAppend},
		{"Canceled", testCanceled},
		{"LargeBatch", testLargeBatch},
		{"Strings", testStrings},
		{"ConcurrentReaders", testConcurrentReaders},
		{"TouchpointRoundTrip", testTouchpointRoundTrip},
		{"TouchpointFilters", testTouchpointFilters},
		{"MixedBatch", testMixedBatch},
		{"InstallRoundTrip", testInstallRoundTrip},
		{"Attribution", testAttribution},
		{"InstallsPaging", testInstallsPaging},
		{"ScanDevices", testScanDevices},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { t.Parallel(); tt.fn(t, open) }) // a store each
	}
}

func testPing(t *testing.T, open func(*testing.T) unmogrowp.EventStore) {
	s := open(t)
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testRoundTrip(t *testing.T, open func(*testing.T) unmogrowp.EventStore) {
	ctx := context.Background()
	s := open(t)

	// Several full events, with revenue 0 as a real value, one without revenue, and
	// timestamps given in another zone: the store hands them back in UTC.
	full := []unmogrowp.Event{FullEvent(0, 1, 1), FullEvent(0, 2, 2), FullEvent(1, 7, 3), FullEvent(2, 1<<40, 4)}
	full[1].Revenue, full[1].Currency = 0, "USD"
	full[2].HasRevenue, full[2].Revenue, full[2].Currency = false, 0, ""
	full[2].AppID, full[2].Platform, full[2].Country = "app-other", unmogrowp.PlatformAndroid, "BR"
	tokyo := time.FixedZone("JST", 9*3600)
	full[3].Timestamp = full[3].Timestamp.In(tokyo)
	full[3].ReceivedAt = full[3].ReceivedAt.In(tokyo)
	full[3].InstallBeginAt = full[3].InstallBeginAt.In(tokyo)
	minimal := MinimalEvent(3, 0, "app-min", 10*time.Minute)
	want := append(slices.Clone(full), minimal)

	if err := s.Append(ctx, unmogrowp.Batch{Events: want[:2]}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if err := s.Append(ctx, unmogrowp.Batch{Events: want[2:]}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	got := mustEvents(t, s, unmogrowp.EventFilter{})
	if len(got) != len(want) {
		t.Fatalf("Events returned %d events, want %d", len(got), len(want))
	}
	// The fixtures' event times increase with the slice index.
	for i := range want {
		if d := Diff(want[i], got[i]); d != "" {
			t.Errorf("event %d (partition %d offset %d) differs: %s", i, want[i].Partition, want[i].Offset, d)
		}
	}
	if !got[1].HasRevenue || got[1].Revenue != 0 {
		t.Errorf("revenue 0 came back as HasRevenue=%v Revenue=%v, want a present 0", got[1].HasRevenue, got[1].Revenue)
	}
	if got[2].HasRevenue {
		t.Errorf("absent revenue came back present: %v", got[2].Revenue)
	}
}

// filterFixture is the data set of the filter tests: (partition, offset, app, device, type,
// minutes after base).
var filterFixture = []struct {
	p      int32
	o      int64
	app    string
	device string
	typ    string
	min    int
}{
	{0, 1, "app-a", "dev-1", "install", 0},
	{0, 2, "app-a", "dev-1", "session", 1},
	{0, 3, "app-a", "dev-2", "purchase", 2},
	{1, 1, "app-b", "dev-1", "install", 1},
	{1, 2, "app-b", "dev-3", "session", 3},
	{0, 4, "app-a", "dev-2", "session", 4},
	{1, 3, "app-c", "dev-4", "purchase", 5},
	{0, 5, "app-a", "dev-1", "purchase", 6},
}

func testFilters(t *testing.T, open func(*testing.T) unmogrowp.EventStore) {
	ctx := context.Background()
	s := open(t)
	var events []unmogrowp.Event
	for i, f := range filterFixture {
		e := FullEvent(f.p, f.o, i)
		e.AppID, e.DeviceID, e.EventType = f.app, f.device, f.typ
		e.Timestamp = at(time.Duration(f.min) * time.Minute)
		events = append(events, e)
	}
	// Two batches, so the filters see data from more than one append.
	if err := s.Append(ctx, unmogrowp.Batch{Events: events[:3]}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if err := s.Append(ctx, unmogrowp.Batch{Events: events[3:]}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	byPos := map[string]unmogrowp.Event{}
	for _, e := range events {
		byPos[pos(e)] = e
	}

	m := func(n int) time.Time { return at(time.Duration(n) * time.Minute) }
	tests := []struct {
		name  string
		f     unmogrowp.EventFilter
		want  []string // partition:offset, in the expected order
		count int64    // CountEvents, which ignores Limit
	}{
		{"all", unmogrowp.EventFilter{}, []string{"0:1", "0:2", "1:1", "0:3", "1:2", "0:4", "1:3", "0:5"}, 8},
		{"app a", unmogrowp.EventFilter{AppID: "app-a"}, []string{"0:1", "0:2", "0:3", "0:4", "0:5"}, 5},
		{"app b", unmogrowp.EventFilter{AppID: "app-b"}, []string{"1:1", "1:2"}, 2},
		{"unknown app", unmogrowp.EventFilter{AppID: "app-x"}, nil, 0},
		{"app id is not a prefix match", unmogrowp.EventFilter{AppID: "app"}, nil, 0},
		{"device across apps", unmogrowp.EventFilter{DeviceID: "dev-1"}, []string{"0:1", "0:2", "1:1", "0:5"}, 4},
		{"app and device", unmogrowp.EventFilter{AppID: "app-a", DeviceID: "dev-1"}, []string{"0:1", "0:2", "0:5"}, 3},
		{"event type", unmogrowp.EventFilter{EventType: "purchase"}, []string{"0:3", "1:3", "0:5"}, 3},
		{"from is inclusive", unmogrowp.EventFilter{From: m(1)}, []string{"0:2", "1:1", "0:3", "1:2", "0:4", "1:3", "0:5"}, 7},
		{"from one microsecond later", unmogrowp.EventFilter{From: m(1).Add(time.Microsecond)}, []string{"0:3", "1:2", "0:4", "1:3", "0:5"}, 5},
		{"to is exclusive", unmogrowp.EventFilter{To: m(2)}, []string{"0:1", "0:2", "1:1"}, 3},
		{"to one microsecond later", unmogrowp.EventFilter{To: m(2).Add(time.Microsecond)}, []string{"0:1", "0:2", "1:1", "0:3"}, 4},
		{"from and to", unmogrowp.EventFilter{From: m(1), To: m(4)}, []string{"0:2", "1:1", "0:3", "1:2"}, 4},
		{"from in another zone", unmogrowp.EventFilter{From: m(4).In(time.FixedZone("X", -5*3600))}, []string{"0:4", "1:3", "0:5"}, 3},
		{"from equals to", unmogrowp.EventFilter{From: m(2), To: m(2)}, nil, 0},
		{"limit", unmogrowp.EventFilter{Limit: 3}, []string{"0:1", "0:2", "1:1"}, 8},
		{"limit with app", unmogrowp.EventFilter{AppID: "app-a", Limit: 2}, []string{"0:1", "0:2"}, 5},
		{"limit above matches", unmogrowp.EventFilter{AppID: "app-b", Limit: 100}, []string{"1:1", "1:2"}, 2},
		{"everything at once", unmogrowp.EventFilter{AppID: "app-a", EventType: "session", From: m(1), To: m(5), Limit: 10}, []string{"0:2", "0:4"}, 2},
		{"no match on combined", unmogrowp.EventFilter{AppID: "app-b", EventType: "purchase"}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustEvents(t, s, tt.f)
			var gotPos []string
			for _, e := range got {
				gotPos = append(gotPos, pos(e))
			}
			if !slices.Equal(gotPos, tt.want) {
				t.Fatalf("Events(%+v) = %v, want %v", tt.f, gotPos, tt.want)
			}
			for _, e := range got {
				if d := Diff(byPos[pos(e)], e); d != "" {
					t.Errorf("event %s differs: %s", pos(e), d)
				}
			}
			n, err := s.CountEvents(ctx, tt.f)
			if err != nil {
				t.Fatalf("CountEvents: %v", err)
			}
			if n != tt.count {
				t.Errorf("CountEvents(%+v) = %d, want %d", tt.f, n, tt.count)
			}
		})
	}
}

func testOrdering(t *testing.T, open func(*testing.T) unmogrowp.EventStore) {
	ctx := context.Background()
	s := open(t)
	mk := func(p int32, o int64, min int) unmogrowp.Event {
		return MinimalEvent(p, o, "app-order", time.Duration(min)*time.Minute)
	}
	// Appended out of order, over three batches; ties on time break by partition, then
	// offset compared as a number (9 before 10, and past 32 bits).
	batches := [][]unmogrowp.Event{
		{mk(1, 5, 1), mk(0, 10, 1), mk(2, 1, 0)},
		{mk(0, 9, 1), mk(0, 1<<33, 1), mk(0, 2, 2)},
		{mk(1, 4, 1), mk(0, 3, -5)},
	}
	for _, b := range batches {
		if err := s.Append(ctx, unmogrowp.Batch{Events: b}); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	want := []string{"0:3", "2:1", "0:9", "0:10", fmt.Sprintf("0:%d", int64(1)<<33), "1:4", "1:5", "0:2"}
	var got []string
	for _, e := range mustEvents(t, s, unmogrowp.EventFilter{}) {
		got = append(got, pos(e))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("order = %v, want %v", got, want)
	}
}

func testWatermarks(t *testing.T, open func(*testing.T) unmogrowp.EventStore) {
	ctx := context.Background()
	s := open(t)
	check := func(step string, want map[int32]int64) {
		t.Helper()
		got, err := s.Watermarks(ctx)
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
	appendAt := func(p int32, offsets ...int64) {
		t.Helper()
		var b []unmogrowp.Event
		for _, o := range offsets {
			b = append(b, MinimalEvent(p, o, "app-wm", time.Duration(o)*time.Second))
		}
		if err := s.Append(ctx, unmogrowp.Batch{Events: b}); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	check("fresh store", map[int32]int64{})
	appendAt(0, 1, 2, 3)
	check("one partition", map[int32]int64{0: 3})
	appendAt(0, 4, 5)
	check("second append", map[int32]int64{0: 5})
	appendAt(2, 10, 11)
	check("second partition", map[int32]int64{0: 5, 2: 11})
	appendAt(3, 7, 3, 5)
	check("offsets out of order in a batch", map[int32]int64{0: 5, 2: 11, 3: 7})
	appendAt(3, 4)
	check("lower offset later", map[int32]int64{0: 5, 2: 11, 3: 7})

	// One batch spanning partitions, with a partition id and offset at the ends of their
	// ranges.
	mixed := []unmogrowp.Event{
		MinimalEvent(0, 6, "app-wm", 0), MinimalEvent(5, 1, "app-wm", 0),
		MinimalEvent(1<<31-1, 1<<62, "app-wm", 0), MinimalEvent(5, 0, "app-wm", 0),
	}
	if err := s.Append(ctx, unmogrowp.Batch{Events: mixed}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	check("mixed batch", map[int32]int64{0: 6, 2: 11, 3: 7, 5: 1, 1<<31 - 1: 1 << 62})
	mixed = []unmogrowp.Event{
		MinimalEvent(1<<31-1, 1<<62+1, "app-wm", 0), MinimalEvent(2, 12, "app-wm", 0),
		MinimalEvent(5, 1, "app-wm", 0), MinimalEvent(6, 0, "app-wm", 0),
	}
	if err := s.Append(ctx, unmogrowp.Batch{Events: mixed}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	check("raised, unchanged and new in one batch", map[int32]int64{0: 6, 2: 12, 3: 7, 5: 1, 6: 0, 1<<31 - 1: 1<<62 + 1})
}

func testEmptyAppend(t *testing.T, open func(*testing.T) unmogrowp.EventStore) {
	ctx := context.Background()
	s := open(t)
	for _, b := range []unmogrowp.Batch{
		{},
		{Events: []unmogrowp.Event{}},
		{Events: []unmogrowp.Event{}, Touchpoints: []unmogrowp.Touchpoint{}, Installs: []unmogrowp.Install{}},
	} {
		if err := s.Append(ctx, b); err != nil {
			t.Fatalf("Append(%#v): %v", b, err)
		}
	}
	assertEmpty(t, s)
}

func testCanceled(t *testing.T, open func(*testing.T) unmogrowp.EventStore) {
	s := open(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for name, b := range map[string]unmogrowp.Batch{
		"events":      {Events: []unmogrowp.Event{FullEvent(0, 1, 1), FullEvent(0, 2, 2)}},
		"touchpoints": {Touchpoints: []unmogrowp.Touchpoint{FullTouchpoint(0, 1, 1)}},
		"installs":    {Installs: []unmogrowp.Install{FullInstall(0, 1, 1)}},
	} {
		if err := s.Append(ctx, b); !errors.Is(err, context.Canceled) {
			t.Fatalf("Append of %s with a canceled context = %v, want context.Canceled", name, err)
		}
	}
	assertEmpty(t, s)
	_, errE := s.Events(ctx, unmogrowp.EventFilter{})
	_, errC := s.CountEvents(ctx, unmogrowp.EventFilter{})
	_, errW := s.Watermarks(ctx)
	errT := s.ScanTouchpoints(ctx, unmogrowp.TouchpointFilter{}, func(*unmogrowp.Touchpoint) error { return nil })
	_, errA := s.Attribution(ctx, "app-full", "device-1")
	_, _, errI := s.Installs(ctx, unmogrowp.InstallFilter{AppID: "app-full"})
	errD := s.ScanDevices(ctx, func(unmogrowp.Install) error { return nil })
	for name, err := range map[string]error{
		"Events": errE, "CountEvents": errC, "Watermarks": errW, "ScanTouchpoints": errT,
		"Attribution": errA, "Installs": errI, "ScanDevices": errD,
	} {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context = %v, want context.Canceled", name, err)
		}
	}
}

func testLargeBatch(t *testing.T, open func(*testing.T) unmogrowp.EventStore) {
	ctx := context.Background()
	s := open(t)
	const n, apps, partitions = 20000, 5, 4
	events := make([]unmogrowp.Event, n)
	for i := range events {
		e := FullEvent(int32(i%partitions), int64(i/partitions), i)
		e.AppID = fmt.Sprintf("app-%d", i%apps)
		e.HasRevenue = i%3 == 0
		events[i] = e
	}
	if err := s.Append(ctx, unmogrowp.Batch{Events: events}); err != nil {
		t.Fatalf("Append(%d events): %v", n, err)
	}
	if c, err := s.CountEvents(ctx, unmogrowp.EventFilter{}); err != nil || c != n {
		t.Fatalf("CountEvents = %d, %v; want %d", c, err, n)
	}
	if c, err := s.CountEvents(ctx, unmogrowp.EventFilter{AppID: "app-3"}); err != nil || c != n/apps {
		t.Fatalf("CountEvents(app-3) = %d, %v; want %d", c, err, n/apps)
	}
	wm, err := s.Watermarks(ctx)
	if err != nil {
		t.Fatalf("Watermarks: %v", err)
	}
	for p := range int32(partitions) {
		if wm[p] != n/partitions-1 {
			t.Errorf("watermark of partition %d = %d, want %d", p, wm[p], n/partitions-1)
		}
	}
	// Every stored event is the one appended, in order (the fixture's times increase).
	got := mustEvents(t, s, unmogrowp.EventFilter{})
	if len(got) != n {
		t.Fatalf("Events returned %d, want %d", len(got), n)
	}
	bad := 0
	for i := range got {
		if d := Diff(events[i], got[i]); d != "" {
			if bad++; bad <= 5 {
				t.Errorf("event %d differs: %s", i, d)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d events differ", bad, n)
	}
}

func testStrings(t *testing.T, open func(*testing.T) unmogrowp.EventStore) {
	ctx := context.Background()
	s := open(t)
	tricky := []string{
		"Grüße, 東京, مرحبا, 🎉👩‍👩‍👧, e\u0301",
		`it's "quoted" and ` + "`back`" + `\n not a newline \\ \x00`,
		"line one\nline two\r\n\ttabbed",
		"'; DROP TABLE events; --",
		"nul\x00inside",
		strings.Repeat("long-", 4000),
	}
	var events []unmogrowp.Event
	for i, str := range tricky {
		e := FullEvent(0, int64(i), i)
		e.AppID = fmt.Sprintf("app-'\"-ü-%d", i)
		e.DeviceID, e.UserID, e.SessionID = str, str, str
		e.UserAgent, e.InstallReferrer, e.Campaign, e.MediaSource = str, str, str, str
		e.EventData = mustJSON(t, map[string]string{"value": str, "ключ": "значение"})
		e.Attribution = []byte(`{"escaped":"\u00e9\n\"","raw":"é"}`)
		events = append(events, e)
	}
	if err := s.Append(ctx, unmogrowp.Batch{Events: events}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	for i, want := range events {
		// Filters take the strings as values, never as SQL.
		got := mustEvents(t, s, unmogrowp.EventFilter{AppID: want.AppID, DeviceID: want.DeviceID})
		if len(got) != 1 {
			t.Fatalf("string %d: Events by app and device returned %d events, want 1", i, len(got))
		}
		if d := Diff(want, got[0]); d != "" {
			t.Errorf("string %d differs: %s", i, d)
		}
	}
	if c, err := s.CountEvents(ctx, unmogrowp.EventFilter{}); err != nil || c != int64(len(events)) {
		t.Fatalf("CountEvents = %d, %v; want %d (is the table still there?)", c, err, len(events))
	}
}

func testConcurrentReaders(t *testing.T, open func(*testing.T) unmogrowp.EventStore) {
	ctx := context.Background()
	s := open(t)
	const batches, size, readers = 25, 100, 3
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, readers+1)
	wg.Go(func() {
		defer close(done)
		for b := range batches {
			// size events, then size touchpoints, and the installs of every tenth event.
			var batch unmogrowp.Batch
			p, first := int32(b%2), int64(2*b*size)
			for i := range size {
				batch.Events = append(batch.Events, FullEvent(p, first+int64(i), b*size+i))
				batch.Touchpoints = append(batch.Touchpoints, FullTouchpoint(p, first+int64(size+i), b*size+i))
				if i%10 == 0 {
					batch.Installs = append(batch.Installs, FullInstall(p, first+int64(i), b*size+i))
				}
			}
			if err := s.Append(ctx, batch); err != nil {
				errs <- fmt.Errorf("append batch %d: %w", b, err)
				return
			}
		}
	})
	for r := range readers {
		wg.Go(func() {
			var lastCount int64
			var lastMark int64 = -1
			var lastTouchpoints, lastInstalls int
			for {
				select {
				case <-done:
					return
				default:
				}
				// A batch is visible whole or not at all, so every count is a multiple of
				// the batch size, and counts never go back.
				n, err := s.CountEvents(ctx, unmogrowp.EventFilter{AppID: "app-full"})
				if err != nil {
					errs <- fmt.Errorf("reader %d: CountEvents: %w", r, err)
					return
				}
				if n%size != 0 || n < lastCount {
					errs <- fmt.Errorf("reader %d: CountEvents = %d after %d, want a growing multiple of %d", r, n, lastCount, size)
					return
				}
				lastCount = n
				evs, err := s.Events(ctx, unmogrowp.EventFilter{AppID: "app-full"})
				if err != nil {
					errs <- fmt.Errorf("reader %d: Events: %w", r, err)
					return
				}
				if len(evs)%size != 0 || int64(len(evs)) < lastCount {
					errs <- fmt.Errorf("reader %d: Events returned %d after a count of %d", r, len(evs), lastCount)
					return
				}
				wm, err := s.Watermarks(ctx)
				if err != nil {
					errs <- fmt.Errorf("reader %d: Watermarks: %w", r, err)
					return
				}
				if wm[0] < lastMark {
					errs <- fmt.Errorf("reader %d: watermark of partition 0 went back from %d to %d", r, lastMark, wm[0])
					return
				}
				if _, ok := wm[0]; ok {
					lastMark = wm[0]
				}
				// Touchpoints and installs, too, come whole batches at a time.
				tps := 0
				if err := s.ScanTouchpoints(ctx, unmogrowp.TouchpointFilter{AppID: "app-full"}, func(*unmogrowp.Touchpoint) error {
					tps++
					return nil
				}); err != nil {
					errs <- fmt.Errorf("reader %d: ScanTouchpoints: %w", r, err)
					return
				}
				if tps%size != 0 || tps < lastTouchpoints {
					errs <- fmt.Errorf("reader %d: ScanTouchpoints yielded %d after %d, want a growing multiple of %d", r, tps, lastTouchpoints, size)
					return
				}
				lastTouchpoints = tps
				ins, _, err := s.Installs(ctx, unmogrowp.InstallFilter{AppID: "app-full"})
				if err != nil {
					errs <- fmt.Errorf("reader %d: Installs: %w", r, err)
					return
				}
				if len(ins)%(size/10) != 0 || len(ins) < lastInstalls {
					errs <- fmt.Errorf("reader %d: Installs returned %d after %d, want a growing multiple of %d", r, len(ins), lastInstalls, size/10)
					return
				}
				lastInstalls = len(ins)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n, err := s.CountEvents(ctx, unmogrowp.EventFilter{}); err != nil || n != batches*size {
		t.Fatalf("CountEvents after the writer = %d, %v; want %d", n, err, batches*size)
	}
}

// assertEmpty checks that s holds no event, touchpoint, install or watermark.
func assertEmpty(t *testing.T, s unmogrowp.EventStore) {
	t.Helper()
	ctx := context.Background()
	if n, err := s.CountEvents(ctx, unmogrowp.EventFilter{}); err != nil || n != 0 {
		t.Fatalf("CountEvents = %d, %v; want 0", n, err)
	}
	if evs := mustEvents(t, s, unmogrowp.EventFilter{}); len(evs) != 0 {
		t.Fatalf("Events returned %d events, want none", len(evs))
	}
	if tps := scanTouchpoints(t, s, unmogrowp.TouchpointFilter{}); len(tps) != 0 {
		t.Fatalf("ScanTouchpoints returned %d touchpoints, want none", len(tps))
	}
	if ins := scanDevices(t, s); len(ins) != 0 {
		t.Fatalf("ScanDevices returned %d installs, want none", len(ins))
	}
	if wm, err := s.Watermarks(ctx); err != nil || len(wm) != 0 {
		t.Fatalf("Watermarks = %v, %v; want none", wm, err)
	}
}

func mustEvents(t *testing.T, s unmogrowp.EventStore, f unmogrowp.EventFilter) []unmogrowp.Event {
	t.Helper()
	evs, err := s.Events(context.Background(), f)
	if err != nil {
		t.Fatalf("Events(%+v): %v", f, err)
	}
	return evs
}

func pos(e unmogrowp.Event) string { return fmt.Sprintf("%d:%d", e.Partition, e.Offset) }
