package inmem

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/hotstatetest"
)

// TestSeenInPlace raises the devices' activity round after round and checks each
// device's decision against the activity merged by hand: later times within the same
// encoded length are written into the record itself (no garbage); a new advertising id,
// a time whose encoding is longer, a first last-event time, and a time that is not later
// go the other ways, with the same answers.
func TestSeenInPlace(t *testing.T) {
	ctx := context.Background()
	s := New(Options{Logger: slog.New(slog.DiscardHandler)})
	defer s.Close()
	ins := hotstatetest.RealisticInstalls(500, 5, time.Now())
	for i := range ins {
		ins[i].Activity = unmogrowp.Activity{}
		if i%2 == 0 { // half of them start with an activity, half without
			ins[i].Activity = unmogrowp.Activity{LastEventTime: ins[i].InstallTime.Add(time.Hour), GAID: ins[i].DeviceID + "-gaid"}
		}
	}
	if err := s.Apply(ctx, nil, ins); err != nil {
		t.Fatal(err)
	}
	garbage := func() (n int64) {
		for i := range s.dev.shards {
			n += s.dev.shards[i].garbage
		}
		return n
	}
	want := map[string]unmogrowp.Install{}
	for _, in := range ins {
		want[in.DeviceID] = in
	}
	check := func(round string) {
		t.Helper()
		for _, w := range want {
			got, ok, err := s.Device(ctx, w.AppID, w.DeviceID)
			if err != nil || !ok {
				t.Fatalf("%s: Device(%s): %v, %v", round, w.DeviceID, ok, err)
			}
			if !reflect.DeepEqual(got, w) {
				t.Fatalf("%s: Device(%s) =\n%+v\nwant\n%+v", round, w.DeviceID, got, w)
			}
		}
	}
	raise := func(round string, f func(in *unmogrowp.Install) unmogrowp.Activity) {
		t.Helper()
		var acts []unmogrowp.DeviceActivity
		for _, in := range ins {
			a := f(&in)
			acts = append(acts, unmogrowp.DeviceActivity{AppID: in.AppID, DeviceID: in.DeviceID, Activity: a})
			w := want[in.DeviceID]
			w.Activity.Merge(a)
			want[in.DeviceID] = w
		}
		if err := s.Seen(ctx, acts); err != nil {
			t.Fatal(err)
		}
		check(round)
	}

	// First last-event times for the half without: new records.
	raise("first", func(in *unmogrowp.Install) unmogrowp.Activity {
		return unmogrowp.Activity{LastEventTime: in.InstallTime.Add(2 * time.Hour)}
	})
	var before int64
	for k := range 10 { // a minute later each time, ids the same or none: in place (the
		// first round adds nanoseconds, a longer encoding)
		if k == 1 {
			before = garbage()
		}
		raise(fmt.Sprintf("minute %d", k), func(in *unmogrowp.Install) unmogrowp.Activity {
			a := unmogrowp.Activity{LastEventTime: in.InstallTime.Add(2*time.Hour + time.Duration(k+1)*time.Minute + 7*time.Nanosecond)}
			if k%2 == 0 {
				a.GAID = want[in.DeviceID].Activity.GAID
			}
			return a
		})
	}
	raise("earlier", func(in *unmogrowp.Install) unmogrowp.Activity {
		return unmogrowp.Activity{LastEventTime: in.InstallTime}
	})
	if g := garbage(); g != before {
		t.Errorf("raising the time alone left %d bytes of garbage", g-before)
	}
	raise("new ids", func(in *unmogrowp.Install) unmogrowp.Activity {
		return unmogrowp.Activity{LastEventTime: in.InstallTime.Add(3 * time.Hour), IDFA: in.DeviceID + "-idfa"}
	})
	raise("90 days on", func(in *unmogrowp.Install) unmogrowp.Activity {
		return unmogrowp.Activity{LastEventTime: in.InstallTime.Add(90 * 24 * time.Hour)}
	})
}

// TestDecisionLeavesOutRejected checks that Decision answers what Device does but the
// rejected touchpoints, which Device still returns, before and after the device's activity
// is raised in place.
func TestDecisionLeavesOutRejected(t *testing.T) {
	ctx := context.Background()
	s := quietState()
	defer s.Close()
	ins := hotstatetest.RealisticInstalls(200, 7, time.Now())
	for i := range ins {
		ins[i].Rejected = nil
		for j := range i % 4 {
			ins[i].Rejected = append(ins[i].Rejected, unmogrowp.Rejection{
				TouchpointID: fmt.Sprintf("tp-%d-%d", i, j), MediaSource: "spam_int", Reason: unmogrowp.RejectClickFlood})
		}
	}
	if err := s.Apply(ctx, nil, ins); err != nil {
		t.Fatal(err)
	}
	check := func(round string) {
		t.Helper()
		for _, in := range ins {
			full, ok, err := s.Device(ctx, in.AppID, in.DeviceID)
			if err != nil || !ok {
				t.Fatalf("%s: Device(%s): %v, %v", round, in.DeviceID, ok, err)
			}
			if !reflect.DeepEqual(full.Rejected, in.Rejected) {
				t.Fatalf("%s: Device(%s).Rejected = %v, want %v", round, in.DeviceID, full.Rejected, in.Rejected)
			}
			got, ok, err := s.Decision(ctx, in.AppID, in.DeviceID)
			if err != nil || !ok {
				t.Fatalf("%s: Decision(%s): %v, %v", round, in.DeviceID, ok, err)
			}
			full.Rejected = nil
			if !reflect.DeepEqual(got, full) {
				t.Fatalf("%s: Decision(%s) =\n%+v\nwant Device's without Rejected\n%+v", round, in.DeviceID, got, full)
			}
		}
	}
	check("applied")
	var acts []unmogrowp.DeviceActivity
	for _, in := range ins {
		acts = append(acts, unmogrowp.DeviceActivity{AppID: in.AppID, DeviceID: in.DeviceID,
			Activity: unmogrowp.Activity{LastEventTime: in.InstallTime.Add(time.Hour)}})
	}
	if err := s.Seen(ctx, acts); err != nil {
		t.Fatal(err)
	}
	check("seen")
	if _, ok, err := s.Decision(ctx, "app", "unknown-device"); err != nil || ok {
		t.Errorf("Decision of an unknown device = %v, %v", ok, err)
	}
}
