package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/unmogrowp/unmogrowp"
)

// An installs row holds its install event's country, platform, app version and OS
// version (0013_install_dimensions.sql), so that a breakdown groups and filters the
// decisions by them without joining the events (breakdown.go). The event is the one at
// the decision's position (same app, partition and offset): an install event for a new
// install, a reinstall or a re-attribution, the returning event of any type for a
// re-engagement. A decision whose position holds no such event (a re-engagement at a
// click, whose position is the touchpoint's) has ''.
//
// The pipeline (pipeline/run.go's finish) stores every decision in the batch of the
// event or touchpoint it was made at: decisions are made at the batch's rows, a decision
// made again on replay is stored only when its position is not (so neither is its event,
// which the same batch then holds). Append takes the dimensions from the batch's events;
// for a decision whose position is neither an event nor a touchpoint of the batch (a
// caller appending decisions alone), it reads its event from the store.

// eventDims are an event's breakdown dimensions that its decision's row holds.
type eventDims struct {
	Country, Platform, AppVersion, OSVersion string
}

// installRow is a row of installs: the decision and its event's dimensions.
type installRow struct {
	in   *unmogrowp.Install
	dims eventDims
}

// dimsOf reports e's dimensions for the decision in, and whether e is in's event.
func dimsOf(in *unmogrowp.Install, appID, eventType string, dims eventDims) (eventDims, bool) {
	if appID != in.AppID || (eventType != unmogrowp.EventInstall && in.ReattributionKind != unmogrowp.ReattributionReengagement) {
		return eventDims{}, false
	}
	return dims, true
}

// installRows appends to dst the rows of b's decisions, in b's order, with their events'
// dimensions: from b's events, else, for decisions at a position none of b's events and
// touchpoints has, from the events stored or staged (read on w's connection, inside its
// open transaction).
func (s *Store) installRows(ctx context.Context, w writer, dst []installRow, b *unmogrowp.Batch) ([]installRow, error) {
	if len(b.Installs) == 0 {
		return dst, nil
	}
	sc := w.scratch
	if sc.instAt == nil {
		sc.instAt = make(map[unmogrowp.Position]*unmogrowp.Event, len(b.Installs))
	}
	at := sc.instAt
	defer clear(at) // keep no batch's events alive
	b.DecisionEvents(at)
	n := len(dst)
	var missing map[unmogrowp.Position][]int
	for i := range b.Installs {
		r := installRow{in: &b.Installs[i]}
		if e := at[unmogrowp.Position{Partition: r.in.Partition, Offset: r.in.Offset}]; e != nil {
			r.dims, _ = dimsOf(r.in, e.AppID, e.EventType, eventDims{e.Country, e.Platform, e.AppVersion, e.OSVersion})
		} else {
			if missing == nil {
				missing = map[unmogrowp.Position][]int{}
			}
			p := unmogrowp.Position{Partition: r.in.Partition, Offset: r.in.Offset}
			missing[p] = append(missing[p], i)
		}
		dst = append(dst, r)
	}
	if len(missing) == 0 {
		return dst, nil
	}
	for i := range b.Touchpoints {
		delete(missing, unmogrowp.Position{Partition: b.Touchpoints[i].Partition, Offset: b.Touchpoints[i].Offset})
	}
	if len(missing) == 0 {
		return dst, nil
	}
	return dst, storedInstallDims(ctx, s.dimSources(w), dst[n:], missing)
}

// dimSource is where storedInstallDims reads events: a connection, and the table (or view)
// it reads them from.
type dimSource struct {
	q interface {
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	}
	events string
}

// dimSources are where w's stored events are: for the stage's writer, its connection's
// view of the file and the stage; for the file's writer, its own transaction's file tables
// and, on another connection, the stage's tables (the writer never reads the stage: see
// Store.ready).
func (s *Store) dimSources(w writer) []dimSource {
	if w.catalog == stageCatalog {
		return []dimSource{{w.conn, "events"}}
	}
	return []dimSource{{w.conn, s.fileTable("events")}, {s.db, stagedTable("events", 0)}, {s.db, stagedTable("events", 1)}}
}

// storedInstallDims sets the dimensions of rows' decisions at the positions of missing
// (each mapped to the indexes in rows of its decisions) from the stored events, read from
// each of sources, a few hundred positions a query.
func storedInstallDims(ctx context.Context, sources []dimSource, rows []installRow, missing map[unmogrowp.Position][]int) error {
	const perQuery = 256
	var conds []string
	var args []any
	read := func() error {
		if len(conds) == 0 {
			return nil
		}
		for _, src := range sources {
			if err := readInstallDims(ctx, src, conds, args, rows, missing); err != nil {
				return err
			}
		}
		conds, args = conds[:0], args[:0]
		return nil
	}
	for p := range missing {
		conds = append(conds, `("partition" = ? AND "offset" = ?)`)
		args = append(args, p.Partition, p.Offset)
		if len(conds) == perQuery {
			if err := read(); err != nil {
				return err
			}
		}
	}
	return read()
}

// readInstallDims sets the dimensions of rows' decisions at the positions conds (with
// args) select from src's events.
func readInstallDims(ctx context.Context, src dimSource, conds []string, args []any, rows []installRow, missing map[unmogrowp.Position][]int) error {
	q := `SELECT app_id, "partition", "offset", event_type, country, platform, app_version, os_version
FROM ` + src.events + ` WHERE ` + strings.Join(conds, " OR ")
	res, err := src.q.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("read the installs' events: %w", err)
	}
	defer res.Close()
	for res.Next() {
		var appID, eventType string
		var p unmogrowp.Position
		var d eventDims
		if err := res.Scan(&appID, &p.Partition, &p.Offset, &eventType, &d.Country, &d.Platform, &d.AppVersion, &d.OSVersion); err != nil {
			return fmt.Errorf("read the installs' events: %w", err)
		}
		for _, j := range missing[p] {
			if d, ok := dimsOf(rows[j].in, appID, eventType, d); ok {
				rows[j].dims = d
			}
		}
	}
	return res.Err()
}
