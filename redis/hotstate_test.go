package redis_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/attribution"
	"github.com/unmogrowp/unmogrowp/internal/hotstatetest"
	"github.com/unmogrowp/unmogrowp/redis"
)

func TestHotStateConformance(t *testing.T) {
	addr := server(t)
	hotstatetest.Run(t, func(t *testing.T) unmogrowp.HotState {
		return openHotState(t, options(addr, newPrefix(t, addr)))
	})
}

const gaid = "38400000-8cf0-11bd-b23e-10b96e40000d"

func ids(tps []unmogrowp.Touchpoint) []string {
	var out []string
	for _, tp := range tps {
		out = append(out, tp.ID)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestTwoConsumers checks the point of the package: two processes on the same prefix see
// each other's Apply and decide the same way.
func TestTwoConsumers(t *testing.T) {
	addr := server(t)
	opts := options(addr, newPrefix(t, addr))
	a, b := openHotState(t, opts), openHotState(t, opts)
	defer a.Close()
	defer b.Close()

	now := time.Now()
	tp := func(id string) unmogrowp.Touchpoint {
		return unmogrowp.Touchpoint{ID: id, AppID: "app1", Type: unmogrowp.TouchClick, MediaSource: "m",
			Time: now.Add(-time.Hour), GAID: gaid, IP: "198.51.100.1"}
	}
	install := func(offset int64, campaign string) unmogrowp.Install {
		return unmogrowp.Install{Partition: 3, Offset: offset, Attribution: unmogrowp.Attribution{
			AppID: "app1", DeviceID: "dev-1", Campaign: campaign, InstallTime: now}}
	}
	if err := a.Apply(ctx, []unmogrowp.Touchpoint{tp("tp-a")}, []unmogrowp.Install{install(10, "a")}); err != nil {
		t.Fatal(err)
	}
	if err := b.Apply(ctx, []unmogrowp.Touchpoint{tp("tp-b")}, nil); err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]*redis.HotState{"a": a, "b": b} {
		got, err := h.Candidates(ctx, "app1", []string{"gaid:" + gaid})
		if err != nil {
			t.Fatal(err)
		}
		if g := ids(got); !slices.Equal(g, []string{"tp-a", "tp-b"}) {
			t.Errorf("consumer %s: candidates %q, want both consumers' touchpoints", name, g)
		}
		if in, ok, err := h.Device(ctx, "app1", "dev-1"); err != nil || !ok || in.Campaign != "a" {
			t.Errorf("consumer %s: Device = %q, %v, %v", name, in.Campaign, ok, err)
		}
	}
	// b decides later; a replays an older batch: b's decision stays for both.
	if err := b.Apply(ctx, nil, []unmogrowp.Install{install(20, "b")}); err != nil {
		t.Fatal(err)
	}
	if err := a.Apply(ctx, nil, []unmogrowp.Install{install(10, "a")}); err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]*redis.HotState{"a": a, "b": b} {
		if in, ok, err := h.Device(ctx, "app1", "dev-1"); err != nil || !ok || in.Campaign != "b" {
			t.Errorf("consumer %s after a replay: Device = %q, %v, %v; want b's", name, in.Campaign, ok, err)
		}
	}
}

// TestDeviceOrder checks the replay rule at the edges of the header's byte order.
func TestDeviceOrder(t *testing.T) {
	addr := server(t)
	h := openHotState(t, options(addr, newPrefix(t, addr)))
	defer h.Close()
	dev := 0
	for _, tt := range []struct {
		first, then [2]int64 // partition, offset
		wantThen    bool     // whether then replaces first
	}{
		{[2]int64{0, 255}, [2]int64{0, 256}, true},
		{[2]int64{0, 256}, [2]int64{0, 255}, false},
		{[2]int64{0, 1 << 40}, [2]int64{0, 1<<40 - 1}, false},
		{[2]int64{0, -3}, [2]int64{0, -7}, false},
		{[2]int64{0, -7}, [2]int64{0, -3}, true},
		{[2]int64{0, -1}, [2]int64{0, 0}, true},
		{[2]int64{0, 5}, [2]int64{0, 5}, true},   // the same offset: the same decision again
		{[2]int64{1, 500}, [2]int64{2, 3}, true}, // another partition: no order, the later call wins
		{[2]int64{2, 3}, [2]int64{1, 500}, true},
		{[2]int64{-1, 9}, [2]int64{-1, 8}, false},
		{[2]int64{256, 9}, [2]int64{1, 8}, true},
	} {
		dev++
		device := fmt.Sprintf("dev-%d", dev)
		mk := func(po [2]int64, campaign string) unmogrowp.Install {
			return unmogrowp.Install{Partition: int32(po[0]), Offset: po[1], Attribution: unmogrowp.Attribution{
				AppID: "app1", DeviceID: device, Campaign: campaign}}
		}
		if err := h.Apply(ctx, nil, []unmogrowp.Install{mk(tt.first, "first"), mk(tt.then, "then")}); err != nil {
			t.Fatal(err)
		}
		want := "first"
		if tt.wantThen {
			want = "then"
		}
		if in, _, err := h.Device(ctx, "app1", device); err != nil || in.Campaign != want {
			t.Errorf("%v then %v: Device = %q, %v; want %q", tt.first, tt.then, in.Campaign, err, want)
		}
	}
}

// TestDevices checks that Devices answers for each device what Device does: more devices
// than one MGET names, with and without a decision, with and without activity, some
// asked twice, in an order that is not the keys'.
func TestDevices(t *testing.T) {
	addr := server(t)
	h := openHotState(t, options(addr, newPrefix(t, addr)))
	defer h.Close()
	now := time.Now().UTC().Truncate(time.Microsecond)
	var installs []unmogrowp.Install
	var seen []unmogrowp.DeviceActivity
	for i := range 1200 {
		if i%3 == 0 {
			continue // no decision
		}
		id := fmt.Sprintf("dev-%d", i)
		installs = append(installs, unmogrowp.Install{Partition: 1, Offset: int64(i), Attribution: unmogrowp.Attribution{
			AppID: "app1", DeviceID: id, MediaSource: "m", Campaign: fmt.Sprint("c", i%7), InstallTime: now.Add(-time.Hour)}})
		if i%2 == 0 {
			seen = append(seen, unmogrowp.DeviceActivity{AppID: "app1", DeviceID: id,
				Activity: unmogrowp.Activity{LastEventTime: now.Add(time.Duration(i) * time.Second), GAID: gaid}})
		}
	}
	installs = append(installs, unmogrowp.Install{Attribution: unmogrowp.Attribution{AppID: "app2", DeviceID: "dev-1", Campaign: "other app"}})
	if err := h.Apply(ctx, nil, installs); err != nil {
		t.Fatal(err)
	}
	if err := h.Seen(ctx, seen); err != nil {
		t.Fatal(err)
	}
	var asked []string
	for i := 1250; i >= 0; i-- {
		asked = append(asked, fmt.Sprintf("dev-%d", i))
	}
	asked = append(asked, "dev-1", "dev-3")
	got, ok, err := h.Devices(ctx, "app1", asked)
	if err != nil || len(got) != len(asked) || len(ok) != len(asked) {
		t.Fatalf("Devices: %d installs, %d found, %v; want %d", len(got), len(ok), err, len(asked))
	}
	decided, active := 0, 0
	for i, id := range asked {
		want, wantOK, err := h.Device(ctx, "app1", id)
		if err != nil {
			t.Fatal(err)
		}
		if ok[i] != wantOK || !reflect.DeepEqual(got[i], want) {
			t.Errorf("Devices for %s = %+v, %v; Device = %+v, %v", id, got[i], ok[i], want, wantOK)
		}
		if wantOK {
			decided++
		}
		if !want.Activity.LastEventTime.IsZero() {
			active++
		}
	}
	if decided != 801 || active != 400 {
		t.Errorf("%d devices asked with a decision, %d with activity; want 801 and 400", decided, active)
	}
	if got, ok, err := h.Devices(ctx, "app1", nil); err != nil || len(got) != 0 || len(ok) != 0 {
		t.Errorf("Devices of none = %v, %v, %v", got, ok, err)
	}
}

// TestCandidatesOf checks that CandidatesOf answers, set by set, what Candidates answers
// for each: sets that share touchpoints, a set with a "tp:ID" key, keys with nothing, an
// empty set, and another app's touchpoints left out.
func TestCandidatesOf(t *testing.T) {
	addr := server(t)
	h := openHotState(t, options(addr, newPrefix(t, addr)))
	defer h.Close()
	now := time.Now().UTC().Truncate(time.Millisecond)
	var tps []unmogrowp.Touchpoint
	for i := range 30 {
		app := "app1"
		if i%10 == 9 {
			app = "app2"
		}
		tps = append(tps, unmogrowp.Touchpoint{ID: fmt.Sprintf("tp-%d", i), AppID: app, Type: unmogrowp.TouchClick,
			Campaign: fmt.Sprint("c", i), Time: now.Add(-time.Duration(i) * time.Minute), GAID: fmt.Sprintf("gaid-%d", i%4), IP: "203.0.113.9"})
	}
	if err := h.Apply(ctx, tps, nil); err != nil {
		t.Fatal(err)
	}
	var sets [][]string
	for i := range tps {
		sets = append(sets, attribution.TouchpointKeys(&tps[i]).Strings())
	}
	sets = append(sets, []string{"tp:tp-3", "tp:tp-9", "tp:none"}, nil, []string{"gaid:nobody"}, append(sets[0], sets[1]...))
	got, err := h.CandidatesOf(ctx, "app1", sets)
	if err != nil || len(got) != len(sets) {
		t.Fatalf("CandidatesOf: %d answers, %v; want %d", len(got), err, len(sets))
	}
	found := 0
	for i, keys := range sets {
		want, err := h.Candidates(ctx, "app1", keys)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got[i], want) && (len(got[i]) > 0 || len(want) > 0) {
			t.Errorf("set %d %v: CandidatesOf = %+v, Candidates = %+v", i, keys, got[i], want)
		}
		found += len(want)
	}
	if found < len(sets) {
		t.Errorf("Candidates found %d touchpoints for %d sets: the test asks too little", found, len(sets))
	}
	if got, err := h.CandidatesOf(ctx, "app1", nil); err != nil || len(got) != 0 {
		t.Errorf("CandidatesOf of no sets = %v, %v", got, err)
	}
}

// TestRetention moves a fake clock: touchpoints past retention are neither stored nor
// returned, and every key expires.
func TestRetention(t *testing.T) {
	addr := server(t)
	prefix := newPrefix(t, addr)
	c := &clock{t: time.Now().UTC().Truncate(time.Second)}
	start := c.Now()
	const retention = 8 * 24 * time.Hour
	opts := options(addr, prefix)
	opts.Retention, opts.Now = retention, c.Now
	h := openHotState(t, opts)
	defer h.Close()

	// One touchpoint every two hours over the last 10 days, all under one gaid (fewer than
	// MaxCandidatesPerKey within retention), each half an hour from the hour (the boundaries
	// are a millisecond wide).
	var tps []unmogrowp.Touchpoint
	for hr := 0; hr < 10*24; hr += 2 {
		tps = append(tps, unmogrowp.Touchpoint{ID: fmt.Sprintf("tp-%03d", hr), AppID: "app1",
			Type: unmogrowp.TouchClick, GAID: gaid, Time: start.Add(-time.Duration(hr)*time.Hour - 30*time.Minute)})
	}
	tps = append(tps, unmogrowp.Touchpoint{ID: "no-time", AppID: "app1", GAID: gaid})
	if err := h.Apply(ctx, tps, nil); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		t.Helper()
		got, err := h.Candidates(ctx, "app1", []string{"gaid:" + gaid})
		if err != nil {
			t.Fatal(err)
		}
		return len(ids(got))
	}
	if n := count(); n != 8*12 {
		t.Errorf("%d touchpoints within retention, want %d", n, 8*12)
	}
	// Past retention: not even stored.
	if n := len(keysUnder(t, addr, prefix+"tp:")); n != 8*12 {
		t.Errorf("%d touchpoint records stored, want %d", n, 8*12)
	}
	for _, key := range keysUnder(t, addr, prefix) {
		if d := pttl(t, addr, key); d <= 0 || d > retention {
			t.Errorf("key %q has TTL %v, want within retention", key, d)
		}
	}
	newest := prefix + "tp:{app1}:tp-000"
	if d := pttl(t, addr, newest); d < retention-31*time.Minute {
		t.Errorf("the newest touchpoint expires in %v, want about %v", d, retention)
	}
	oldest := prefix + "tp:{app1}:tp-190"
	if d := pttl(t, addr, oldest); d > 91*time.Minute {
		t.Errorf("a touchpoint 190.5 hours old expires in %v, want within an hour and a half", d)
	}

	c.Advance(2 * 24 * time.Hour)
	if n := count(); n != 6*12 {
		t.Errorf("two days later: %d touchpoints within retention, want %d", n, 6*12)
	}
	// The next write trims the sorted set.
	if err := h.Apply(ctx, []unmogrowp.Touchpoint{{ID: "new", AppID: "app1", GAID: gaid, Time: c.Now()}}, nil); err != nil {
		t.Fatal(err)
	}
	client := goredis.NewClient(&goredis.Options{Addr: addr, DisableIdentity: true})
	defer client.Close()
	zkey := prefix + "k:{app1}:gaid:" + gaid
	if n, err := client.ZCard(ctx, zkey).Result(); err != nil || n != 6*12+1 {
		t.Errorf("the sorted set holds %d ids (%v), want %d", n, err, 6*12+1)
	}
	if d := pttl(t, addr, zkey); d < retention-time.Minute || d > retention {
		// TTLs count from the fake clock: the newest touch is now.
		t.Errorf("the sorted set expires in %v, want about %v", d, retention)
	}
}

// TestKeyLayout checks that every key of an app carries its hash tag, and that app ids
// with braces stay apart.
func TestKeyLayout(t *testing.T) {
	addr := server(t)
	prefix := newPrefix(t, addr)
	h := openHotState(t, options(addr, prefix))
	defer h.Close()
	d := openDedup(t, options(addr, prefix))
	defer d.Close()
	apps := []string{"app_x", "app_x}:y", "{app_x}", "app_x}", ""}
	var tps []unmogrowp.Touchpoint
	var ins []unmogrowp.Install
	var claims []unmogrowp.Claim
	for _, app := range apps {
		tps = append(tps, unmogrowp.Touchpoint{ID: "y:tp", AppID: app, Type: unmogrowp.TouchClick,
			Campaign: "of " + app, Time: time.Now(), GAID: gaid, IP: "203.0.113.9"})
		ins = append(ins, unmogrowp.Install{Attribution: unmogrowp.Attribution{AppID: app, DeviceID: "y:dev", Campaign: "of " + app}})
		claims = append(claims, unmogrowp.Claim{AppID: app, EventID: "e", Time: time.Now()})
	}
	if err := h.Apply(ctx, tps, ins); err != nil {
		t.Fatal(err)
	}
	if got, err := d.Claim(ctx, claims); err != nil || slices.Contains(got, false) {
		t.Errorf("Claim of one event id in %d apps = %v, %v; want all first", len(apps), got, err)
	}
	for _, app := range apps {
		got, err := h.Candidates(ctx, app, attribution.TouchpointKeys(&tps[0]).Strings())
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Campaign != "of "+app {
			t.Errorf("app %q: candidates %+v", app, got)
		}
		if in, ok, err := h.Device(ctx, app, "y:dev"); err != nil || !ok || in.Campaign != "of "+app {
			t.Errorf("app %q: Device = %q, %v, %v", app, in.Campaign, ok, err)
		}
	}
	for _, key := range keysUnder(t, addr, prefix) {
		rest := strings.TrimPrefix(key, prefix)
		kind, rest, _ := strings.Cut(rest, ":")
		if !slices.Contains([]string{"tp", "k", "dev", "d"}, kind) || !strings.HasPrefix(rest, "{") || !strings.Contains(rest, "}:") {
			t.Errorf("key %q is not {prefix}{kind}:{app}:…", key)
		}
		if tag := rest[1:strings.Index(rest, "}")]; tag != "app_x" && tag != "" && !strings.HasPrefix(tag, "#") {
			t.Errorf("key %q has hash tag %q", key, tag)
		}
	}
}

// TestCorruptValues checks what a value that does not decode does: a touchpoint is left
// out, a device decision is an internal error.
func TestCorruptValues(t *testing.T) {
	addr := server(t)
	prefix := newPrefix(t, addr)
	h := openHotState(t, options(addr, prefix))
	defer h.Close()
	good := unmogrowp.Touchpoint{ID: "good", AppID: "app1", Time: time.Now(), GAID: gaid}
	if err := h.Apply(ctx, []unmogrowp.Touchpoint{good}, nil); err != nil {
		t.Fatal(err)
	}
	client := goredis.NewClient(&goredis.Options{Addr: addr, DisableIdentity: true})
	defer client.Close()
	client.Set(ctx, prefix+"tp:{app1}:bad", "\xff\xff", time.Hour)
	client.ZAdd(ctx, prefix+"k:{app1}:gaid:"+gaid, goredis.Z{Score: float64(time.Now().UnixMilli()), Member: "bad"})
	client.Set(ctx, prefix+"dev:{app1}:dev", "garbage", time.Hour)

	got, err := h.Candidates(ctx, "app1", []string{"gaid:" + gaid, "tp:bad"})
	if err != nil || !slices.Equal(ids(got), []string{"good"}) {
		t.Errorf("Candidates = %q, %v; want the good one", ids(got), err)
	}
	if _, _, err := h.Device(ctx, "app1", "dev"); unmogrowp.ErrorCode(err) != unmogrowp.EINTERNAL {
		t.Errorf("Device of a corrupt decision: err = %v, want EINTERNAL", err)
	}
	if _, _, err := h.Devices(ctx, "app1", []string{"other", "dev"}); unmogrowp.ErrorCode(err) != unmogrowp.EINTERNAL {
		t.Errorf("Devices with a corrupt decision: err = %v, want EINTERNAL", err)
	}
	// A decision applied over it replaces it.
	in := unmogrowp.Install{Offset: 1, Attribution: unmogrowp.Attribution{AppID: "app1", DeviceID: "dev", Campaign: "c"}}
	if err := h.Apply(ctx, nil, []unmogrowp.Install{in}); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := h.Device(ctx, "app1", "dev"); err != nil || !ok || got.Campaign != "c" {
		t.Errorf("Device = %q, %v, %v", got.Campaign, ok, err)
	}
}
