package duckdb

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/storetest"
	"github.com/unmogrowp/unmogrowp/internal/testenv"
)

// TestEraseAtScale times the erasure of one device (docs/privacy.md) on a store of
// realistic data: what the OpenDSR job asks of the analytics store for a request naming
// one device id (resolve the subject, read its touchpoints, erase, count what is left,
// which finds nothing), for a device with an install of the biggest app. The target: under a minute on 100M events. It runs only when
// UNMOGROWP_ERASE_EVENTS is set to the number of events; the store is filled once with
// storetest.GenerateFixture, and kept and reused at UNMOGROWP_ERASE_DB when set. Each run
// erases another device (the first of the app's installs left).
//
//	UNMOGROWP_ERASE_EVENTS=100000000 UNMOGROWP_ERASE_DB=/tmp/erase100m.duckdb \
//	    go test -run TestEraseAtScale -v -timeout 120m ./duckdb/
//
// UNMOGROWP_ERASE_DB may name the store TestReportsAtScale built from copies of a smaller
// one (UNMOGROWP_REPORTS_REPLICATE, replicate): it then erases from that store, which
// holds as many events, in minutes rather than hours of filling.
func TestEraseAtScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("UNMOGROWP_ERASE_EVENTS"))
	if n <= 0 {
		t.Skip("set UNMOGROWP_ERASE_EVENTS to the number of events to run it")
	}
	path := os.Getenv("UNMOGROWP_ERASE_DB")
	if path == "" {
		path = filepath.Join(t.TempDir(), "erase.duckdb")
	}
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	have, err := s.CountEvents(ctx, unmogrowp.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if have == 0 {
		start := time.Now()
		if err := storetest.GenerateFixture(n, 1, 100_000, func(b unmogrowp.Batch) error { return s.Append(ctx, b) }); err != nil {
			t.Fatal(err)
		}
		if err := s.checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		t.Logf("filled %d events in %v", n, time.Since(start).Round(time.Second))
		have = int64(n)
	}
	app := storetest.FixtureApps[0]
	var device string
	if err := s.db.QueryRowContext(ctx, "SELECT device_id FROM installs WHERE app_id = ? ORDER BY install_time LIMIT 1", app).Scan(&device); err != nil {
		t.Fatal(err)
	}
	deviceEvents, err := s.CountEvents(ctx, unmogrowp.EventFilter{AppID: app, DeviceID: device})
	if err != nil {
		t.Fatal(err)
	}
	sub := unmogrowp.Subject{AppID: app}
	sub.Add(unmogrowp.FieldDeviceID, device)
	start, cpu := time.Now(), testenv.ProcessCPU()
	step := func(name string, f func() error) {
		t.Helper()
		begin, cpu := time.Now(), testenv.ProcessCPU()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%-22s %v (cpu %v)", name, time.Since(begin).Round(time.Millisecond), (testenv.ProcessCPU() - cpu).Round(time.Millisecond))
	}
	var resolved unmogrowp.Subject
	var rows, left int64
	step("resolve", func() (err error) { resolved, err = s.ResolveSubject(ctx, sub); return })
	step("touchpoints", func() error {
		tps, err := s.SubjectTouchpoints(ctx, resolved)
		for _, tp := range tps {
			resolved.TouchpointIDs = append(resolved.TouchpointIDs, tp.ID)
		}
		return err
	})
	step("watermarks", func() (err error) { resolved.After, err = s.Watermarks(ctx); return })
	step("erase", func() (err error) { rows, err = s.EraseSubject(ctx, resolved); return })
	step("count what is left", func() (err error) { left, err = s.CountSubject(ctx, resolved); return })
	t.Logf("device %s of %s: %d events, %d rows erased in all (%d devices, %d touchpoints by id)", device, app,
		deviceEvents, rows, len(resolved.Raw[unmogrowp.FieldDeviceID]), len(resolved.TouchpointIDs))
	if left != 0 {
		t.Fatalf("%d rows left after the erasure", left)
	}
	took := time.Since(start)
	t.Logf("erased one device from %d events in %v (cpu %v)", have, took.Round(time.Millisecond), (testenv.ProcessCPU() - cpu).Round(time.Millisecond))
	if _, err := s.Attribution(ctx, app, device); unmogrowp.ErrorCode(err) != unmogrowp.ENOTFOUND {
		t.Errorf("Attribution after erasure: %v, want ENOTFOUND", err)
	}
	if took > time.Minute {
		t.Errorf("erasure took %v, over a minute", took)
	}
}
