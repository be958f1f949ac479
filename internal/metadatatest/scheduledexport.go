package metadatatest

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// ExportStoreWithApps is what RunExportStore tests: an export store, and the app store
// its exports belong to.
type ExportStoreWithApps interface {
	unmogrowp.AppStore
	unmogrowp.ExportStore
}

// RunExportStore runs the conformance suite of unmogrowp.ExportStore. open must return a
// fresh, empty store, isolated from the others (the subtests run in parallel), each time
// it is called, and close it when t ends.
func RunExportStore(t *testing.T, open func(t *testing.T) ExportStoreWithApps) {
	t.Run("CreateGetListDelete", func(t *testing.T) { t.Parallel(); testExportCRUD(t, open(t)) })
	t.Run("Tenancy", func(t *testing.T) { t.Parallel(); testExportTenancy(t, open(t)) })
	t.Run("PlanClaimComplete", func(t *testing.T) { t.Parallel(); testExportRuns(t, open(t)) })
	t.Run("ConcurrentClaims", func(t *testing.T) { t.Parallel(); testExportConcurrentClaims(t, open(t)) })
	t.Run("LateDataChecks", func(t *testing.T) { t.Parallel(); testExportLateChecks(t, open(t)) })
	t.Run("DeleteCascades", func(t *testing.T) { t.Parallel(); testExportCascade(t, open(t)) })
}

// exportT0 is the tests' clock: a whole UTC day.
var exportT0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func newScheduledExport(appID string) *unmogrowp.ScheduledExport {
	return &unmogrowp.ScheduledExport{
		AppID: appID, Reports: []string{unmogrowp.ExportEvents, unmogrowp.ExportInstalls},
		Format: unmogrowp.FileParquet, Cadence: unmogrowp.CadenceHourly,
		Destination: unmogrowp.S3Destination{
			Type: "s3", Endpoint: "http://127.0.0.1:9000", Region: "us-east-1", Bucket: "b",
			Prefix: "raw/", PathStyle: true, AccessKeyID: "AKID", SealedSecret: []byte{1, 2, 3, 0, 255},
		},
	}
}

func createExport(t *testing.T, s unmogrowp.ExportStore, e *unmogrowp.ScheduledExport, now time.Time) {
	t.Helper()
	if err := s.CreateScheduledExport(context.Background(), e, now); err != nil {
		t.Fatalf("CreateScheduledExport: %v", err)
	}
}

// An export comes back as it was stored, its sealed secret byte for byte, its start the
// period of its creation; the list is oldest first; delete makes it ENOTFOUND.
func testExportCRUD(t *testing.T, s ExportStoreWithApps) {
	ctx := context.Background()
	appID := newApp(t, s, "exports")
	a := newScheduledExport(appID)
	createExport(t, s, a, exportT0.Add(90*time.Minute+time.Second))
	if a.ID == "" || !a.Start.Equal(exportT0.Add(time.Hour)) || !a.CreatedAt.Equal(exportT0.Add(90*time.Minute+time.Second)) {
		t.Fatalf("created = id %q start %v created %v", a.ID, a.Start, a.CreatedAt)
	}
	b := newScheduledExport(appID)
	b.Cadence, b.Format, b.Start = unmogrowp.CadenceDaily, unmogrowp.FileCSVGzip, exportT0.AddDate(0, 0, -3)
	createExport(t, s, b, exportT0.Add(2*time.Hour))

	got, err := s.ScheduledExport(ctx, appID, a.ID)
	if err != nil {
		t.Fatalf("ScheduledExport: %v", err)
	}
	if got.Format != a.Format || got.Cadence != a.Cadence || len(got.Reports) != 2 || got.Reports[0] != unmogrowp.ExportEvents ||
		got.Destination.Endpoint != a.Destination.Endpoint || got.Destination.Bucket != "b" || got.Destination.Prefix != "raw/" ||
		!got.Destination.PathStyle || got.Destination.Region != "us-east-1" || got.Destination.AccessKeyID != "AKID" ||
		!bytes.Equal(got.Destination.SealedSecret, []byte{1, 2, 3, 0, 255}) || got.Destination.SecretAccessKey != "" ||
		!got.Start.Equal(a.Start) || !got.PlannedUntil.IsZero() {
		t.Fatalf("ScheduledExport = %+v, want %+v", got, a)
	}
	list, err := s.ScheduledExports(ctx, appID)
	if err != nil || len(list) != 2 || list[0].ID != a.ID || list[1].ID != b.ID || !list[1].Start.Equal(exportT0.AddDate(0, 0, -3)) {
		t.Fatalf("ScheduledExports = %+v, %v; want a then b", list, err)
	}
	all, err := s.ScheduledExports(ctx, "")
	if err != nil || len(all) != 2 {
		t.Fatalf("ScheduledExports(all) = %d, %v; want 2", len(all), err)
	}
	if err := s.DeleteScheduledExport(ctx, appID, a.ID); err != nil {
		t.Fatalf("DeleteScheduledExport: %v", err)
	}
	_, err = s.ScheduledExport(ctx, appID, a.ID)
	wantCode(t, err, unmogrowp.ENOTFOUND)
	wantCode(t, s.DeleteScheduledExport(ctx, appID, a.ID), unmogrowp.ENOTFOUND)
	wantCode(t, s.CreateScheduledExport(ctx, newScheduledExport("app_missing"), exportT0), unmogrowp.ENOTFOUND)
	unsealed := newScheduledExport(appID)
	unsealed.Destination.SealedSecret, unsealed.Destination.SecretAccessKey = nil, "clear"
	wantCode(t, s.CreateScheduledExport(ctx, unsealed, exportT0), unmogrowp.EINVALID)
}

// Another app's export is ENOTFOUND to every method that takes an app.
func testExportTenancy(t *testing.T, s ExportStoreWithApps) {
	ctx := context.Background()
	mine, theirs := newApp(t, s, "mine"), newApp(t, s, "theirs")
	e := newScheduledExport(theirs)
	createExport(t, s, e, exportT0)
	_, err := s.ScheduledExport(ctx, mine, e.ID)
	wantCode(t, err, unmogrowp.ENOTFOUND)
	_, err = s.ExportRuns(ctx, mine, e.ID, 10)
	wantCode(t, err, unmogrowp.ENOTFOUND)
	wantCode(t, s.DeleteScheduledExport(ctx, mine, e.ID), unmogrowp.ENOTFOUND)
	if list, err := s.ScheduledExports(ctx, mine); err != nil || len(list) != 0 {
		t.Fatalf("ScheduledExports(mine) = %v, %v; want none", list, err)
	}
	if _, err := s.ScheduledExport(ctx, theirs, e.ID); err != nil {
		t.Fatalf("the owner's ScheduledExport: %v", err)
	}
}

// planRuns plans one run per report of e for each hour in [from, to).
func planRuns(t *testing.T, s unmogrowp.ExportStore, e *unmogrowp.ScheduledExport, from, to time.Time) {
	t.Helper()
	var runs []unmogrowp.ExportRun
	for p := from; p.Before(to); p = p.Add(time.Hour) {
		for _, r := range e.Reports {
			runs = append(runs, unmogrowp.ExportRun{ExportID: e.ID, AppID: e.AppID, Report: r, PeriodStart: p, PeriodEnd: p.Add(time.Hour), NextAttemptAt: p.Add(time.Hour)})
		}
	}
	if err := s.PlanExportRuns(context.Background(), e.ID, to, runs); err != nil {
		t.Fatalf("PlanExportRuns: %v", err)
	}
}

func claimRuns(t *testing.T, s unmogrowp.ExportStore, now time.Time, limit int) []unmogrowp.ExportRun {
	t.Helper()
	runs, err := s.ClaimExportRuns(context.Background(), unmogrowp.ExportRunClaim{
		Now: now, Lease: time.Minute, Limit: limit, Delay: 0, LateWindow: time.Hour, Recheck: 10 * time.Minute,
	})
	if err != nil {
		t.Fatalf("ClaimExportRuns: %v", err)
	}
	return runs
}

// Planning twice adds runs once and moves PlannedUntil; a claim takes due runs oldest
// first under a lease that another claim respects; completing needs the lease's token;
// a failed run comes back at its NextAttemptAt; the list is newest period first.
func testExportRuns(t *testing.T, s ExportStoreWithApps) {
	ctx := context.Background()
	appID := newApp(t, s, "runs")
	e := newScheduledExport(appID)
	createExport(t, s, e, exportT0)
	planRuns(t, s, e, exportT0, exportT0.Add(2*time.Hour))
	planRuns(t, s, e, exportT0, exportT0.Add(3*time.Hour)) // the first two hours again
	got, _ := s.ScheduledExport(ctx, appID, e.ID)
	if !got.PlannedUntil.Equal(exportT0.Add(3 * time.Hour)) {
		t.Fatalf("PlannedUntil = %v, want %v", got.PlannedUntil, exportT0.Add(3*time.Hour))
	}
	wantCode(t, s.PlanExportRuns(ctx, "exp_missing", exportT0, nil), unmogrowp.ENOTFOUND)

	now := exportT0.Add(2*time.Hour + time.Minute) // hours 0 and 1 are due, hour 2 is not
	runs := claimRuns(t, s, now, 10)
	if len(runs) != 4 || !runs[0].PeriodStart.Equal(exportT0) || !runs[3].PeriodStart.Equal(exportT0.Add(time.Hour)) ||
		runs[0].Status != unmogrowp.RunPending || runs[0].LeaseToken == "" || runs[0].AppID != appID {
		t.Fatalf("claimed %+v, want the 4 runs of hours 0 and 1", runs)
	}
	if again := claimRuns(t, s, now, 10); len(again) != 0 {
		t.Fatalf("a second claim under the lease took %d runs", len(again))
	}
	ok := runs[0]
	ok.Status, ok.Rows, ok.Bytes, ok.SHA256, ok.Attempts, ok.WrittenAt, ok.CheckedAt = unmogrowp.RunSucceeded, 7, 123, "abc", 1, now, now
	if err := s.CompleteExportRun(ctx, ok); err != nil {
		t.Fatalf("CompleteExportRun: %v", err)
	}
	wantCode(t, s.CompleteExportRun(ctx, ok), unmogrowp.ECONFLICT) // its lease has ended
	stale := runs[1]
	stale.LeaseToken = "not-the-token"
	wantCode(t, s.CompleteExportRun(ctx, stale), unmogrowp.ECONFLICT)
	bad := runs[1]
	bad.Status, bad.Error, bad.Attempts, bad.NextAttemptAt = unmogrowp.RunFailed, "access denied", 1, now.Add(5*time.Minute)
	if err := s.CompleteExportRun(ctx, bad); err != nil {
		t.Fatalf("CompleteExportRun(failed): %v", err)
	}

	// After the lease: runs 2 and 3 again (never completed), not the failed one yet.
	later := claimRuns(t, s, now.Add(2*time.Minute), 10)
	if len(later) != 2 || later[0].Report != runs[2].Report || !later[0].PeriodStart.Equal(runs[2].PeriodStart) {
		t.Fatalf("claim after the lease = %+v, want runs 2 and 3", later)
	}
	retry := claimRuns(t, s, now.Add(5*time.Minute), 10) // runs 2 and 3 again too: their lease ended
	if len(retry) != 3 || retry[0].Status != unmogrowp.RunFailed || retry[0].Error != "access denied" || retry[0].Attempts != 1 {
		t.Fatalf("claim at the retry = %+v, want the failed run", retry)
	}

	list, err := s.ExportRuns(ctx, appID, e.ID, 100)
	if err != nil {
		t.Fatalf("ExportRuns: %v", err)
	}
	if len(list) != 6 || !list[0].PeriodStart.Equal(exportT0.Add(2*time.Hour)) || list[0].Report != unmogrowp.ExportEvents ||
		list[1].Report != unmogrowp.ExportInstalls || list[0].LeaseToken != "" {
		t.Fatalf("ExportRuns = %+v", list)
	}
	last := list[len(list)-2] // hour 0, events (installs sorts after it)
	if last.Rows != 7 || last.Bytes != 123 || last.SHA256 != "abc" || last.Status != unmogrowp.RunSucceeded ||
		!last.WrittenAt.Equal(now) || !last.PeriodEnd.Equal(exportT0.Add(time.Hour)) {
		t.Fatalf("the written run = %+v", last)
	}
	if two, _ := s.ExportRuns(ctx, appID, e.ID, 2); len(two) != 2 {
		t.Fatalf("ExportRuns(limit 2) = %d runs", len(two))
	}
}

// Of several processes claiming at once, each run goes to one claim.
func testExportConcurrentClaims(t *testing.T, s ExportStoreWithApps) {
	appID := newApp(t, s, "concurrent")
	e := newScheduledExport(appID)
	createExport(t, s, e, exportT0)
	planRuns(t, s, e, exportT0, exportT0.Add(20*time.Hour)) // 40 runs
	now := exportT0.Add(24 * time.Hour)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				runs, err := s.ClaimExportRuns(context.Background(), unmogrowp.ExportRunClaim{Now: now, Lease: time.Hour, Limit: 3})
				if err != nil {
					t.Errorf("ClaimExportRuns: %v", err)
					return
				}
				if len(runs) == 0 {
					return
				}
				mu.Lock()
				for _, r := range runs {
					seen[r.Report+r.PeriodStart.String()]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 40 {
		t.Fatalf("claimed %d distinct runs, want 40", len(seen))
	}
	for k, n := range seen {
		if n != 1 {
			t.Fatalf("run %s claimed %d times", k, n)
		}
	}
}

// A written run is claimed again for a late-data check once Recheck has passed since its
// last check, while that check was before PeriodEnd+Delay+LateWindow; then no more.
func testExportLateChecks(t *testing.T, s ExportStoreWithApps) {
	ctx := context.Background()
	appID := newApp(t, s, "late")
	e := newScheduledExport(appID)
	e.Reports = []string{unmogrowp.ExportEvents}
	createExport(t, s, e, exportT0)
	planRuns(t, s, e, exportT0, exportT0.Add(time.Hour))
	end := exportT0.Add(time.Hour)
	complete := func(r unmogrowp.ExportRun, at time.Time) {
		t.Helper()
		r.Status, r.CheckedAt, r.WrittenAt = unmogrowp.RunSucceeded, at, at
		if err := s.CompleteExportRun(ctx, r); err != nil {
			t.Fatalf("CompleteExportRun: %v", err)
		}
	}
	runs := claimRuns(t, s, end, 1)
	if len(runs) != 1 {
		t.Fatalf("claimed %d runs, want 1", len(runs))
	}
	complete(runs[0], end)
	if got := claimRuns(t, s, end.Add(9*time.Minute), 1); len(got) != 0 {
		t.Fatalf("claimed before Recheck passed: %+v", got)
	}
	runs = claimRuns(t, s, end.Add(10*time.Minute), 1)
	if len(runs) != 1 || runs[0].Status != unmogrowp.RunSucceeded {
		t.Fatalf("late check claim = %+v, want the written run", runs)
	}
	complete(runs[0], end.Add(55*time.Minute)) // still within the window (1 h)
	runs = claimRuns(t, s, end.Add(70*time.Minute), 1)
	if len(runs) != 1 {
		t.Fatal("the check after the window's end was not claimed: late data within it would be missed")
	}
	complete(runs[0], end.Add(70*time.Minute))
	if got := claimRuns(t, s, end.Add(5*time.Hour), 1); len(got) != 0 {
		t.Fatalf("claimed after the late window: %+v", got)
	}
}

// Deleting an export deletes its runs; deleting its app deletes both.
func testExportCascade(t *testing.T, s ExportStoreWithApps) {
	ctx := context.Background()
	appID := newApp(t, s, "cascade")
	e := newScheduledExport(appID)
	createExport(t, s, e, exportT0)
	planRuns(t, s, e, exportT0, exportT0.Add(time.Hour))
	if err := s.DeleteApp(ctx, appID); err != nil {
		t.Fatalf("DeleteApp: %v", err)
	}
	if runs := claimRuns(t, s, exportT0.Add(24*time.Hour), 10); len(runs) != 0 {
		t.Fatalf("runs of a deleted app's export were claimed: %+v", runs)
	}
	if all, _ := s.ScheduledExports(ctx, ""); len(all) != 0 {
		t.Fatalf("a deleted app's exports are listed: %+v", all)
	}
	other := newApp(t, s, "cascade2")
	f := newScheduledExport(other)
	createExport(t, s, f, exportT0)
	planRuns(t, s, f, exportT0, exportT0.Add(time.Hour))
	runs := claimRuns(t, s, exportT0.Add(2*time.Hour), 10)
	if err := s.DeleteScheduledExport(ctx, other, f.ID); err != nil {
		t.Fatalf("DeleteScheduledExport: %v", err)
	}
	if len(runs) == 0 {
		t.Fatal("no run claimed")
	}
	wantCode(t, s.CompleteExportRun(ctx, runs[0]), unmogrowp.ENOTFOUND)
}
