package duckdb

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/internal/storetest"
)

// TestInstallDimensions checks that every installs row holds its event's country,
// platform and versions as the breakdowns used to join them (an install event for an
// install, a reinstall or a re-attribution, the returning event of any type for a
// re-engagement, empty when there is none): written by Append from the batch's events, from
// the stored events for decisions appended without theirs, and by the migration (0013)
// for a store whose installs were written before it, whose columns are dropped and
// migration forgotten here.
func TestInstallDimensions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.duckdb")
	s := openAt(t, path)
	var sessions []unmogrowp.Event
	var installs []unmogrowp.Install
	err := storetest.GenerateFixture(20_000, 5, 3_000, func(b unmogrowp.Batch) error {
		for _, e := range b.Events {
			if e.EventType == "session" && len(sessions) < 4 {
				sessions = append(sessions, e)
			}
		}
		installs = append(installs, b.Installs...)
		return s.Append(ctx, b)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sessions) < 4 || len(installs) < 2 {
		t.Fatalf("the fixture has %d sessions and %d installs", len(sessions), len(installs))
	}
	reengaged := func(e unmogrowp.Event, p int32, o int64) unmogrowp.Install {
		in := unmogrowp.Install{Partition: p, Offset: o}
		in.AppID, in.DeviceID, in.InstallEventID, in.InstallTime = e.AppID, e.DeviceID, e.EventID, e.Timestamp
		in.IsReattribution, in.ReattributionKind = true, unmogrowp.ReattributionReengagement
		in.MediaSource, in.MatchType = "fb", unmogrowp.MatchDeviceID
		return in
	}
	// A returning event and its re-engagement in one batch; one at a click; one stored
	// event's re-engagement alone; a new install at a session (no install event) alone.
	back := sessions[0]
	back.Partition, back.Offset, back.EventID, back.Country = 9, 1, "back", "ZZ"
	click := unmogrowp.Touchpoint{Partition: 9, Offset: 2, ID: "click", AppID: back.AppID, Type: unmogrowp.TouchClick,
		DeviceID: back.DeviceID, Time: back.Timestamp, MediaSource: "fb"}
	atSession := reengaged(sessions[2], sessions[2].Partition, sessions[2].Offset)
	atSession.IsReattribution, atSession.ReattributionKind, atSession.DeviceID = false, "", "new-device"
	mustAppend := func(b unmogrowp.Batch) {
		t.Helper()
		if err := s.Append(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	mustAppend(unmogrowp.Batch{Events: []unmogrowp.Event{back}, Touchpoints: []unmogrowp.Touchpoint{click},
		Installs: []unmogrowp.Install{reengaged(back, 9, 1), reengaged(back, 9, 2)}})
	mustAppend(unmogrowp.Batch{Installs: []unmogrowp.Install{reengaged(sessions[1], sessions[1].Partition, sessions[1].Offset), atSession}})

	check := func() {
		t.Helper()
		var wrong, filled, total int
		err := s.db.QueryRow(`SELECT count(*) FILTER (WHERE (x.country, x.platform, x.app_version, x.os_version) IS DISTINCT FROM
               (coalesce(ev.country, ''), coalesce(ev.platform, ''), coalesce(ev.app_version, ''), coalesce(ev.os_version, ''))),
       count(*) FILTER (WHERE x.country <> ''), count(*)
FROM installs x
LEFT JOIN events ev ON ev.app_id = x.app_id AND ev."partition" = x."partition" AND ev."offset" = x."offset"
      AND (ev.event_type = 'install' OR x.reattribution_kind = 'reengagement')`).Scan(&wrong, &filled, &total)
		if err != nil {
			t.Fatal(err)
		}
		if wrong != 0 || total != len(installs)+4 || filled != len(installs)+2 {
			t.Errorf("%d of %d installs rows differ from their events, %d have a country; want 0 of %d, %d",
				wrong, total, filled, len(installs)+4, len(installs)+2)
		}
		for _, c := range []struct {
			p    int32
			o    int64
			want string
		}{{9, 1, "ZZ"}, {9, 2, ""}, {sessions[1].Partition, sessions[1].Offset, sessions[1].Country}, {sessions[2].Partition, sessions[2].Offset, ""}} {
			var got string
			if err := s.db.QueryRow(`SELECT country FROM installs WHERE "partition" = ? AND "offset" = ?`, c.p, c.o).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("the decision at %d/%d has country %q, want %q", c.p, c.o, got, c.want)
			}
		}
	}
	check()
	execAll(t, s, `DROP INDEX installs_device_id`,
		`ALTER TABLE installs DROP COLUMN country`, `ALTER TABLE installs DROP COLUMN platform`,
		`ALTER TABLE installs DROP COLUMN app_version`, `ALTER TABLE installs DROP COLUMN os_version`,
		`CREATE INDEX installs_device_id ON installs (device_id)`,
		`DELETE FROM schema_migrations WHERE name LIKE '%install_dimensions%'`)
	s = reopen(t, s, path)
	check()
}
