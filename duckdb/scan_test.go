package duckdb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/storetest"
)

// TestScanChunks compares scans read in chunks of a few rows with scans read whole, over
// touchpoints spread unevenly over three days (many in one minute, some at the zero time)
// and devices installed several times.
func TestScanChunks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openMemory(t)
	r := rand.New(rand.NewPCG(7, 7))
	start := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	var b unmogrowp.Batch
	for i := range 300 {
		tp := storetest.FullTouchpoint(int32(i%3), int64(i), i)
		tp.AppID = fmt.Sprintf("app-%d", i%2)
		switch {
		case i%10 == 0: // a burst in one minute, ties included
			tp.Time = start.Add(time.Duration(r.IntN(60)) * time.Second)
		case i%97 == 0: // never set by ingestion, but the store takes it
			tp.Time = time.Time{}
		default:
			tp.Time = start.Add(time.Duration(r.IntN(3*24*3600)) * time.Second).Add(time.Duration(r.IntN(1e6)) * time.Microsecond)
		}
		b.Touchpoints = append(b.Touchpoints, tp)
		b.Installs = append(b.Installs, storetest.OrganicInstall(int32(i%3), int64(i), tp.AppID, fmt.Sprintf("dev-%d", r.IntN(120)), 0))
	}
	if err := s.Append(ctx, b); err != nil {
		t.Fatalf("Append: %v", err)
	}
	scan := func(chunk int, f unmogrowp.TouchpointFilter) []unmogrowp.Touchpoint {
		t.Helper()
		s.scanChunk = chunk
		var tps []unmogrowp.Touchpoint
		if err := s.ScanTouchpoints(ctx, f, func(tp *unmogrowp.Touchpoint) error {
			tps = append(tps, *tp)
			return nil
		}); err != nil {
			t.Fatalf("ScanTouchpoints(%+v) in chunks of %d: %v", f, chunk, err)
		}
		return tps
	}
	day := func(n float64) time.Time { return start.Add(time.Duration(n * 24 * float64(time.Hour))) }
	for _, f := range []unmogrowp.TouchpointFilter{
		{},
		{AppID: "app-1"},
		{From: day(0.5), To: day(2)},
		{AppID: "app-0", From: day(1)},
		{Limit: 5},
		{Limit: 200},
		{AppID: "app-1", To: day(1), Limit: 40},
	} {
		whole := scan(defaultScanChunk, f)
		if len(whole) == 0 {
			t.Fatalf("ScanTouchpoints(%+v) found nothing", f)
		}
		for _, chunk := range []int{1, 7, 150} {
			got := scan(chunk, f)
			if len(got) != len(whole) {
				t.Fatalf("ScanTouchpoints(%+v) in chunks of %d: %d touchpoints, whole %d", f, chunk, len(got), len(whole))
			}
			for i := range whole {
				if d := storetest.DiffTouchpoint(whole[i], got[i]); d != "" {
					t.Fatalf("ScanTouchpoints(%+v) in chunks of %d: touchpoint %d differs: %s", f, chunk, i, d)
				}
			}
		}
	}
	if got := scan(7, unmogrowp.TouchpointFilter{To: time.Unix(0, 0)}); len(got) == 0 || !got[0].Time.IsZero() {
		t.Errorf("touchpoints at the zero time: %d, want some, at the zero time", len(got))
	}

	devices := func(chunk int) []string {
		t.Helper()
		s.scanChunk = chunk
		var got []string
		if err := s.ScanDevices(ctx, func(in unmogrowp.Install) error {
			got = append(got, fmt.Sprintf("%s/%s@%d:%d", in.AppID, in.DeviceID, in.Partition, in.Offset))
			return nil
		}); err != nil {
			t.Fatalf("ScanDevices in chunks of %d: %v", chunk, err)
		}
		slices.Sort(got)
		return got
	}
	whole := devices(defaultScanChunk)
	for _, chunk := range []int{1, 13, 500} {
		if got := devices(chunk); !slices.Equal(got, whole) {
			t.Errorf("ScanDevices in chunks of %d: %d devices, whole %d, or other ones", chunk, len(got), len(whole))
		}
	}
}

// TestInstallsNeedsApp checks that Installs refuses a filter without an app.
func TestInstallsNeedsApp(t *testing.T) {
	s := openMemory(t)
	if _, _, err := s.Installs(context.Background(), unmogrowp.InstallFilter{}); unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
		t.Errorf("Installs without an app id = %v, want code %q", err, unmogrowp.EINVALID)
	}
}
