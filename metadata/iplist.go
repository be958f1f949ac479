package metadata

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

var _ unmogrowp.IPListStore = (*DB)(nil)

// PutIPList implements unmogrowp.IPListStore: the list's row is replaced in one
// transaction, with the next revision.
func (db *DB) PutIPList(ctx context.Context, list unmogrowp.IPList) error {
	if strings.TrimSpace(list.Name) == "" || !db.d.storable(list.Name) {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "The IP list needs a name.")
	}
	var b strings.Builder
	for _, p := range list.Prefixes {
		b.WriteString(p.String())
		b.WriteByte('\n')
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return db.fail("put ip list", err)
	}
	defer tx.Rollback()
	var rev int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(revision), 0) + 1 FROM ip_lists`).Scan(&rev); err != nil {
		return db.fail("put ip list", err)
	}
	if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO ip_lists (name, prefixes, imported_at, revision) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET prefixes = excluded.prefixes, imported_at = excluded.imported_at, revision = excluded.revision`),
		list.Name, b.String(), time.Now().UnixMicro(), rev); err != nil {
		return db.fail("put ip list", err)
	}
	if err := tx.Commit(); err != nil {
		return db.fail("put ip list", err)
	}
	return nil
}

// IPLists implements unmogrowp.IPListStore.
func (db *DB) IPLists(ctx context.Context) ([]unmogrowp.IPList, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT name, prefixes, imported_at FROM ip_lists ORDER BY name`)
	if err != nil {
		return nil, db.fail("list ip lists", err)
	}
	return collect(db, rows, "list ip lists", func(s scanner) (unmogrowp.IPList, error) {
		var l unmogrowp.IPList
		var text string
		var at int64
		if err := s.Scan(&l.Name, &text, &at); err != nil {
			return l, err
		}
		l.ImportedAt = time.UnixMicro(at).UTC()
		for line := range strings.Lines(text) {
			p, err := netip.ParsePrefix(strings.TrimSpace(line))
			if err != nil {
				return l, fmt.Errorf("ip list %s: %w", l.Name, err)
			}
			l.Prefixes = append(l.Prefixes, p)
		}
		return l, nil
	})
}

// IPListsVersion implements unmogrowp.IPListStore: the number of lists and their highest
// revision.
func (db *DB) IPListsVersion(ctx context.Context) (string, error) {
	var n, rev int64
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MAX(revision), 0) FROM ip_lists`).Scan(&n, &rev); err != nil {
		return "", db.fail("ip lists version", err)
	}
	return fmt.Sprintf("%d/%d", n, rev), nil
}
