package unmogrowp

import (
	"strings"
	"testing"
	"time"
)

func validScheduledExport() ScheduledExport {
	return ScheduledExport{
		AppID: "app_1", Reports: []string{ExportEvents}, Format: "CSV.GZ", Cadence: "Daily",
		Destination: S3Destination{Type: "S3", Endpoint: "http://127.0.0.1:9000", Bucket: "raw", Prefix: "/unmogrowp",
			AccessKeyID: "AKID", SecretAccessKey: "secret"},
	}
}

// Validate normalizes what it takes and names the field of each refusal.
func TestScheduledExportValidate(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 30, 0, 0, time.UTC)
	e := validScheduledExport()
	e.Start = now.Add(-49 * time.Hour)
	if err := e.Validate(now); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if e.Format != FileCSVGzip || e.Cadence != CadenceDaily || e.Destination.Type != "s3" ||
		e.Destination.Prefix != "unmogrowp/" || !e.Start.Equal(time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("normalized = %+v", e)
	}
	for _, tc := range []struct {
		field string
		edit  func(e *ScheduledExport)
	}{
		{"reports", func(e *ScheduledExport) { e.Reports = nil }},
		{"reports", func(e *ScheduledExport) { e.Reports = []string{"clicks"} }},
		{"reports", func(e *ScheduledExport) { e.Reports = []string{ExportEvents, ExportEvents} }},
		{"format", func(e *ScheduledExport) { e.Format = "csv" }},
		{"cadence", func(e *ScheduledExport) { e.Cadence = "weekly" }},
		{"start", func(e *ScheduledExport) { e.Start = now.Add(time.Hour) }},
		{"start", func(e *ScheduledExport) { e.Start = now.AddDate(0, 0, -94) }},
		{"destination.type", func(e *ScheduledExport) { e.Destination.Type = "gcs" }},
		{"destination.endpoint", func(e *ScheduledExport) { e.Destination.Endpoint = "" }},
		{"destination.endpoint", func(e *ScheduledExport) { e.Destination.Endpoint = "ftp://host" }},
		{"destination.endpoint", func(e *ScheduledExport) { e.Destination.Endpoint = "https://host/path" }},
		{"destination.endpoint", func(e *ScheduledExport) { e.Destination.Endpoint = "https://u:p@host" }},
		{"destination.bucket", func(e *ScheduledExport) { e.Destination.Bucket = "" }},
		{"destination.bucket", func(e *ScheduledExport) { e.Destination.Bucket = "a/b" }},
		{"destination.prefix", func(e *ScheduledExport) { e.Destination.Prefix = "a//b" }},
		{"destination.access_key_id", func(e *ScheduledExport) { e.Destination.AccessKeyID = " " }},
		{"destination.secret_access_key", func(e *ScheduledExport) { e.Destination.SecretAccessKey = "" }},
	} {
		e := validScheduledExport()
		tc.edit(&e)
		err := e.Validate(now)
		if ErrorCode(err) != EINVALID || !strings.HasPrefix(ErrorMessage(err), tc.field) {
			t.Errorf("%s: Validate = %v, want EINVALID naming it", tc.field, err)
		}
	}
	host := validScheduledExport()
	host.Destination.Endpoint = "s3.eu-west-1.amazonaws.com"
	if err := host.Validate(now); err != nil {
		t.Errorf("a bare host: %v", err)
	}
}

// Periods are UTC hours or days; the objects' directory is Hive-style.
func TestScheduledExportPeriods(t *testing.T) {
	at := time.Date(2026, 3, 2, 13, 45, 0, 0, time.FixedZone("x", 5*3600)) // 08:45 UTC
	e := ScheduledExport{AppID: "app_1", Cadence: CadenceHourly, Destination: S3Destination{Prefix: "p/"}}
	start, end := e.Period(at)
	if !start.Equal(time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)) || end.Sub(start) != time.Hour {
		t.Fatalf("hourly period = %v, %v", start, end)
	}
	if got := e.ObjectDir(ExportEvents, start); got != "p/app_id=app_1/report=events/dt=2026-03-02/hour=08/" {
		t.Errorf("hourly dir = %q", got)
	}
	e.Cadence = CadenceDaily
	start, end = e.Period(at)
	if !start.Equal(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)) || !end.Equal(start.AddDate(0, 0, 1)) {
		t.Fatalf("daily period = %v, %v", start, end)
	}
	if got := e.ObjectDir(ExportInstalls, start); got != "p/app_id=app_1/report=installs/dt=2026-03-02/" {
		t.Errorf("daily dir = %q", got)
	}
}
