package metadata

import (
	"context"
	"time"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// linkColumns are the columns scanLink reads, in its order.
const linkColumns = `id, app_id, media_source, campaign, adset, ad, site_id, channel,
	ios_url, android_url, web_url, deep_link_value, click_lookback_days, view_lookback_hours,
	created_at`

// linkByIDQuery is Link's lookup, on the click and impression hot path: prepared once.
const linkByIDQuery = `SELECT ` + linkColumns + ` FROM links WHERE id = ?`

// CreateLink validates the link (Link.Validate, which trims its fields), fills its ID and
// CreatedAt and stores it. Returns EINVALID for a nil or invalid link or text the engine
// cannot store, ENOTFOUND if its app does not exist. An ID the caller set is replaced.
func (db *DB) CreateLink(ctx context.Context, link *unmogrowp.Link) error {
	if link == nil {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "A link is required.")
	}
	if err := link.Validate(); err != nil {
		return err
	}
	if !db.d.storable(link.AppID) {
		return errAppNotFound()
	}
	id, err := unmogrowp.NewID(unmogrowp.LinkIDPrefix)
	if err != nil {
		return db.fail("create link", err)
	}
	created := time.Now().UTC().Truncate(time.Microsecond) // what the column keeps

	// One statement: the foreign key tells an unknown app, and holds even if the app is
	// being deleted at the same moment (in PostgreSQL the insert waits for the delete's row
	// lock, then fails; SQLite runs one write at a time).
	if _, err := db.write.ExecContext(ctx, db.q(`INSERT INTO links (id, app_id, media_source,
		campaign, adset, ad, site_id, channel, ios_url, android_url, web_url, deep_link_value,
		click_lookback_days, view_lookback_hours, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		id, link.AppID, link.MediaSource, link.Campaign, link.Adset, link.Ad, link.SiteID,
		link.Channel, link.IOSURL, link.AndroidURL, link.WebURL, link.DeepLinkValue,
		link.ClickLookbackDays, link.ViewLookbackHours, created.UnixMicro(),
	); err != nil {
		if db.d.broke(err, foreignKey, "") {
			return errAppNotFound()
		}
		return db.fail("create link", err)
	}
	link.ID = id
	link.CreatedAt = created
	return nil
}

// Link returns the link with the id. Returns ENOTFOUND if there is none.
func (db *DB) Link(ctx context.Context, id string) (*unmogrowp.Link, error) {
	if !db.d.storable(id) {
		return nil, errLinkNotFound()
	}
	return found[*unmogrowp.Link](db, "get link", errLinkNotFound)(scanLink(db.linkByID.QueryRowContext(ctx, id)))
}

// Links lists the app's links, newest first, ties by id from the greatest: the exact
// reverse of (created_at, id), so that a page can start after a (created_at, id) cursor.
// It returns an empty, non-nil slice for an app without links or an unknown app.
func (db *DB) Links(ctx context.Context, appID string) ([]*unmogrowp.Link, error) {
	if !db.d.storable(appID) {
		return []*unmogrowp.Link{}, nil
	}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+linkColumns+` FROM links
		WHERE app_id = ? ORDER BY created_at DESC, id DESC`), appID)
	if err != nil {
		return nil, db.fail("list links", err)
	}
	return collect(db, rows, "list links", scanLink)
}

// UpdateLink validates the link (Link.Validate, which trims its fields) and replaces every
// caller-set field of the app's link with link.ID; its id, app and creation time stay, and
// link.CreatedAt is set to the stored one. Returns EINVALID for a nil or invalid link or
// text the engine cannot store, ENOTFOUND if link.AppID has no link with link.ID.
func (db *DB) UpdateLink(ctx context.Context, link *unmogrowp.Link) error {
	if link == nil {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "A link is required.")
	}
	if err := link.Validate(); err != nil {
		return err
	}
	if !db.d.storable(link.ID) || !db.d.storable(link.AppID) {
		return errLinkNotFound()
	}
	// One statement that answers the creation time: no window between a check and the write.
	var created int64
	err := db.write.QueryRowContext(ctx, db.q(`UPDATE links SET media_source = ?, campaign = ?,
		adset = ?, ad = ?, site_id = ?, channel = ?, ios_url = ?, android_url = ?, web_url = ?,
		deep_link_value = ?, click_lookback_days = ?, view_lookback_hours = ?
		WHERE id = ? AND app_id = ? RETURNING created_at`),
		link.MediaSource, link.Campaign, link.Adset, link.Ad, link.SiteID, link.Channel,
		link.IOSURL, link.AndroidURL, link.WebURL, link.DeepLinkValue, link.ClickLookbackDays,
		link.ViewLookbackHours, link.ID, link.AppID,
	).Scan(&created)
	if _, err := found[int64](db, "update link", errLinkNotFound)(created, err); err != nil {
		return err
	}
	link.CreatedAt = time.UnixMicro(created).UTC()
	return nil
}

// DeleteLink removes the app's link with the id. Returns ENOTFOUND if appID has no link
// with the id. Touchpoints are not in this store: those recorded stay.
func (db *DB) DeleteLink(ctx context.Context, appID, id string) error {
	if !db.d.storable(id) || !db.d.storable(appID) {
		return errLinkNotFound()
	}
	res, err := db.write.ExecContext(ctx, db.q(`DELETE FROM links WHERE id = ? AND app_id = ?`), id, appID)
	return db.affectedOne(res, err, "delete link", errLinkNotFound)
}

// scanLink reads the linkColumns of one row.
func scanLink(row scanner) (*unmogrowp.Link, error) {
	var (
		l       unmogrowp.Link
		created int64
	)
	if err := row.Scan(&l.ID, &l.AppID, &l.MediaSource, &l.Campaign, &l.Adset, &l.Ad,
		&l.SiteID, &l.Channel, &l.IOSURL, &l.AndroidURL, &l.WebURL, &l.DeepLinkValue,
		&l.ClickLookbackDays, &l.ViewLookbackHours, &created); err != nil {
		return nil, err
	}
	l.CreatedAt = time.UnixMicro(created).UTC()
	return &l, nil
}

func errLinkNotFound() error { return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "Link not found.") }
