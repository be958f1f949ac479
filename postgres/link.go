package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// linkColumns are the columns scanLink reads, in its order.
const linkColumns = `id, app_id, media_source, campaign, adset, ad, site_id, channel,
	ios_url, android_url, web_url, deep_link_value, created_at`

// CreateLink validates the link (Link.Validate, which trims its fields), fills its ID and
// CreatedAt and stores it. Returns EINVALID for a nil or invalid link, ENOTFOUND if its
// app does not exist. An ID the caller set is replaced.
func (db *DB) CreateLink(ctx context.Context, link *unmogrowp.Link) error {
	if link == nil {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "A link is required.")
	}
	if err := link.Validate(); err != nil {
		return err
	}
	if !storable(link.AppID) {
		return errAppNotFound()
	}
	id, err := unmogrowp.NewID(unmogrowp.LinkIDPrefix)
	if err != nil {
		return dbError("create link", err)
	}
	created := time.Now().UTC().Truncate(time.Microsecond) // what the column keeps

	// One statement: the foreign key tells an unknown app, and holds even if the app is
	// being deleted at the same moment (the insert waits for the delete's row lock, then
	// fails).
	if _, err := db.pool.Exec(ctx, `INSERT INTO links (id, app_id, media_source, campaign,
		adset, ad, site_id, channel, ios_url, android_url, web_url, deep_link_value, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		id, link.AppID, link.MediaSource, link.Campaign, link.Adset, link.Ad, link.SiteID,
		link.Channel, link.IOSURL, link.AndroidURL, link.WebURL, link.DeepLinkValue,
		created.UnixMicro(),
	); err != nil {
		if isViolation(err, foreignKeyViolation, "") {
			return errAppNotFound()
		}
		return dbError("create link", err)
	}
	link.ID = id
	link.CreatedAt = created
	return nil
}

// Link returns the link with the id. Returns ENOTFOUND if there is none.
func (db *DB) Link(ctx context.Context, id string) (*unmogrowp.Link, error) {
	if !storable(id) {
		return nil, errLinkNotFound()
	}
	link, err := scanLink(db.pool.QueryRow(ctx, `SELECT `+linkColumns+` FROM links WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errLinkNotFound()
	}
	if err != nil {
		return nil, dbError("get link", err)
	}
	return link, nil
}

// Links lists the app's links, newest first, ties by id from the greatest: the exact
// reverse of (created_at, id), so that a page can start after a (created_at, id) cursor.
// It returns an empty, non-nil slice for an app without links or an unknown app.
func (db *DB) Links(ctx context.Context, appID string) ([]*unmogrowp.Link, error) {
	if !storable(appID) {
		return []*unmogrowp.Link{}, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT `+linkColumns+` FROM links
		WHERE app_id = $1 ORDER BY created_at DESC, id DESC`, appID)
	if err != nil {
		return nil, dbError("list links", err)
	}
	defer rows.Close()
	links := []*unmogrowp.Link{}
	for rows.Next() {
		link, err := scanLink(rows)
		if err != nil {
			return nil, dbError("list links", err)
		}
		links = append(links, link)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("list links", err)
	}
	return links, nil
}

// scanLink reads the linkColumns of one row.
func scanLink(row pgx.Row) (*unmogrowp.Link, error) {
	var (
		l       unmogrowp.Link
		created int64
	)
	if err := row.Scan(&l.ID, &l.AppID, &l.MediaSource, &l.Campaign, &l.Adset, &l.Ad,
		&l.SiteID, &l.Channel, &l.IOSURL, &l.AndroidURL, &l.WebURL, &l.DeepLinkValue,
		&created); err != nil {
		return nil, err
	}
	l.CreatedAt = time.UnixMicro(created).UTC()
	return &l, nil
}

func errLinkNotFound() error { return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "Link not found.") }
