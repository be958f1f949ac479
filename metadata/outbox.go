package metadata

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

var _ unmogrowp.Outbox = (*DB)(nil)

// deliveryColumns are the columns scanDelivery reads, in its order.
const deliveryColumns = `id, postback_id, app_id, activity_kind, status, url, host, method,
	headers, body, attempts, last_status, last_error, created_at, next_attempt_at, delivered_at,
	lease_token`

// enqueueChunk is how many deliveries one INSERT statement of Enqueue takes at most: 12
// values each, below either engine's limit on a statement's parameters (SQLite 32766,
// PostgreSQL 65535).
const enqueueChunk = 512

// enqueueQuery returns the INSERT of n deliveries.
func enqueueQuery(n int) string {
	return `INSERT INTO postback_deliveries (id, app_id, postback_id, activity_kind, status, url,
		host, method, headers, body, created_at, next_attempt_at, device_id) VALUES ` +
		values(`(?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?)`, n) +
		` ON CONFLICT (id) DO NOTHING`
}

// chunkSizes returns the sizes of the statements that take n rows, at most chunk (a power
// of two) each: as many full chunks as fit, then the rest by powers of two (200 is
// 128+64+8), so that a handful of statements, each prepared once, takes any n, where a
// statement of n rows would be parsed again on each call (a third of Enqueue's time in
// SQLite).
func chunkSizes(n, chunk int) []int {
	var sizes []int
	for ; n >= chunk; n -= chunk {
		sizes = append(sizes, chunk)
	}
	for size := chunk / 2; size > 0; size /= 2 {
		if n >= size {
			sizes = append(sizes, size)
			n -= size
		}
	}
	return sizes
}

// stmts returns the prepared statement of query(n) for each n of sizes, preparing those
// not yet and keeping them in cache until Close (one per power of two up to a chunk). It
// needs a connection of the write pool: in SQLite, call it outside a transaction.
func (db *DB) stmts(ctx context.Context, cache *map[int]*sql.Stmt, query func(n int) string, sizes []int) ([]*sql.Stmt, error) {
	db.enqueueMu.Lock()
	defer db.enqueueMu.Unlock()
	if *cache == nil {
		*cache = map[int]*sql.Stmt{}
	}
	stmts := make([]*sql.Stmt, len(sizes))
	for i, n := range sizes {
		if (*cache)[n] == nil {
			stmt, err := db.write.PrepareContext(ctx, db.q(query(n)))
			if err != nil {
				return nil, err
			}
			(*cache)[n] = stmt
		}
		stmts[i] = (*cache)[n]
	}
	return stmts, nil
}

// claimScan is how many due deliveries per delivery asked for a Claim with a per-host cap
// looks at: when the earliest due are all of a few hosts, it still finds others' among
// the next ones. It is small because each is locked (PostgreSQL) and ranked: a caller
// whose claim filled a host's room claims again, naming that host in
// ClaimRequest.Except, so that host's backlog is skipped in the index, not counted here.
const claimScan = 2

// Enqueue implements unmogrowp.Outbox: INSERT ... ON CONFLICT (id) DO NOTHING, in one
// transaction.
func (db *DB) Enqueue(ctx context.Context, ds []unmogrowp.Delivery) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for i := range ds {
		if err := ds[i].CheckNew(); err != nil {
			return err
		}
	}
	if len(ds) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(ds))
	unique := 0
	for i := range ds {
		if !seen[ds[i].ID] {
			seen[ds[i].ID] = true
			unique++
		}
	}
	clear(seen)
	now := time.Now()
	sizes := chunkSizes(unique, enqueueChunk)
	// Prepared before the transaction, which holds SQLite's one write connection.
	stmts, err := db.stmts(ctx, &db.enqueue, enqueueQuery, sizes)
	if err != nil {
		return db.fail("enqueue deliveries", err)
	}
	args := make([]any, 0, 11*sizes[0])
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return db.fail("enqueue deliveries", err)
	}
	defer tx.Rollback()
	n := 0
	flush := func() error {
		_, err := tx.StmtContext(ctx, stmts[0]).ExecContext(ctx, args...)
		args, n, sizes, stmts = args[:0], 0, sizes[1:], stmts[1:]
		return err
	}
	for i := range ds {
		d := &ds[i]
		if seen[d.ID] { // the first of two equal ids in one call wins
			continue
		}
		seen[d.ID] = true
		headers := ""
		if len(d.Headers) > 0 {
			b, err := json.Marshal(d.Headers)
			if err != nil {
				return fmt.Errorf("enqueue deliveries: %w", err)
			}
			headers = string(b)
		}
		var body []byte // NULL when empty
		if len(d.Body) > 0 {
			body = d.Body
		}
		created, next := d.CreatedAt, d.NextAttemptAt
		if created.IsZero() {
			created = now
		}
		if next.IsZero() {
			next = now
		}
		args = append(args, d.ID, d.AppID, d.PostbackID, d.ActivityKind, d.URL, d.Host, d.Method,
			headers, body, created.UnixMicro(), next.UnixMicro(), d.DeviceID)
		if n++; n == sizes[0] {
			if err := flush(); err != nil {
				return db.fail("enqueue deliveries", err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return db.fail("enqueue deliveries", err)
	}
	return nil
}

// Claim implements unmogrowp.Outbox in one statement: an UPDATE ... RETURNING of the
// deliveries a query picks. In PostgreSQL the query locks the rows it looks at with FOR
// UPDATE SKIP LOCKED, so that concurrent claims (of any process) pass each other's rows
// by, and a row another claim leased since the statement began is checked again, and left,
// once its lock is released; SQLite runs one write at a time.
func (db *DB) Claim(ctx context.Context, r unmogrowp.ClaimRequest) ([]unmogrowp.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := r.Check(); err != nil {
		return nil, err
	}
	token, err := leaseToken()
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	now := r.Now.UnixMicro()
	args := []any{now, now}
	except := ""
	for _, h := range r.Except {
		if db.d.storable(h) {
			except += "?,"
			args = append(args, h)
		}
	}
	if except != "" {
		except = ` AND host NOT IN (` + strings.TrimSuffix(except, ",") + `)`
	}
	// The per-host caps: a CASE of the hosts with their own, then the others'. When none
	// is below Limit, the first Limit due are the answer, and the scan is no longer.
	capped := r.PerHost > 0 && r.PerHost < r.Limit
	hostLimit := `?`
	var limits []any
	if len(r.HostLimits) > 0 {
		hostLimit = `CASE host`
		for _, h := range slices.Sorted(maps.Keys(r.HostLimits)) { // one query text per set of hosts
			if n := r.HostLimits[h]; db.d.storable(h) {
				hostLimit += ` WHEN ? THEN CAST(? AS BIGINT)`
				limits = append(limits, h, n)
				capped = capped || n < r.Limit
			}
		}
		hostLimit += ` ELSE CAST(? AS BIGINT) END`
	}
	limits = append(limits, r.HostLimit(""))
	scan := r.Limit
	if capped {
		scan = r.Limit * claimScan
	}
	args = append(args, scan)
	args = append(args, limits...)
	args = append(args, r.Limit, r.Now.Add(r.Lease).UnixMicro(), token)
	q := `WITH due AS (
			SELECT id, host, next_attempt_at, created_at FROM postback_deliveries
			WHERE status = 'pending' AND next_attempt_at <= ? AND (leased = FALSE OR lease_until <= ?)` + except + `
			ORDER BY next_attempt_at, created_at, id LIMIT ?` + db.d.skipLocked + `
		), ranked AS (
			SELECT id, host, next_attempt_at, created_at,
				ROW_NUMBER() OVER (PARTITION BY host ORDER BY next_attempt_at, created_at, id) AS n
			FROM due
		), picked AS (
			SELECT id FROM ranked WHERE n <= ` + hostLimit + ` ORDER BY next_attempt_at, created_at, id LIMIT ?
		)
		UPDATE postback_deliveries SET leased = TRUE, lease_until = ?, lease_token = ?
		WHERE id IN (SELECT id FROM picked)
		RETURNING ` + deliveryColumns
	var ds []*unmogrowp.Delivery
	err = db.outboxWrite(ctx, func(w outboxWriter) error {
		rows, err := w.QueryContext(ctx, db.q(q), args...)
		if err != nil {
			return db.fail("claim deliveries", err)
		}
		ds, err = collect(db, rows, "claim deliveries", scanDelivery)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]unmogrowp.Delivery, len(ds))
	for i, d := range ds {
		out[i] = *d
	}
	slices.SortFunc(out, func(a, b unmogrowp.Delivery) int {
		return cmp.Or(a.NextAttemptAt.Compare(b.NextAttemptAt), a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// outboxWriter is the write pool, or one connection of it.
type outboxWriter interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// outboxWrite runs f, a claim or the recording of attempts, on a connection of the write
// pool (SQLite's one) that it holds, whose commits do not wait for the sync to disk:
// synchronous=NORMAL in SQLite, synchronous_commit=off in PostgreSQL; it then sets the
// connection's setting back (or, failing that, discards the connection). Two synced
// commits a batch of deliveries (the claim's and the attempts') would otherwise cost
// the writer several milliseconds each. Such a commit survives a crash of the process
// (SQLite's WAL) or of the client (PostgreSQL), and is made durable by the next synced
// commit (an Enqueue, any other write of the store), by SQLite's next checkpoint, or by
// PostgreSQL's WAL writer within a fraction of a second; only a power loss or a crash of
// the operating system (or of the PostgreSQL server) before then undoes it. What the
// outbox may lose that way is a lease (the delivery is due again once it would have
// ended) or the record of an attempt (it is made again, with the same delivery id), which
// is what a crash of the worker during the attempt leaves too: at least once, as Outbox
// promises. Enqueue, which the pipeline's exactly-once discipline relies on, and every
// other write keep the synced commit.
func (db *DB) outboxWrite(ctx context.Context, f func(w outboxWriter) error) error {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return db.fail("write the outbox", err)
	}
	if _, err := conn.ExecContext(ctx, db.d.relaxSync); err != nil {
		discard(conn) // it may have taken the setting
		return db.fail("write the outbox", err)
	}
	ferr := f(conn)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), restoreSyncTimeout)
	defer cancel()
	if _, err := conn.ExecContext(rctx, db.d.restoreSync); err != nil {
		discard(conn) // never handed back to other writes without their sync
		return cmp.Or(ferr, db.fail("write the outbox", err))
	}
	return cmp.Or(ferr, conn.Close())
}

// restoreSyncTimeout bounds outboxWrite's setting back of the sync, past the caller's
// context: a connection that stalls is discarded rather than waited for.
const restoreSyncTimeout = 5 * time.Second

// discard closes the connection and has the pool drop it.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	conn.Close()
}

// leaseToken returns a new random lease token: one claim's, never another's.
func leaseToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("lease token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// Complete implements unmogrowp.Outbox in one UPDATE that matches the delivery only while
// the attempt's claim holds it; concurrent calls are recorded together, in one transaction
// (completeGrouped).
func (db *DB) Complete(ctx context.Context, a unmogrowp.Attempt) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := a.CheckAttempt(); err != nil {
		return err
	}
	if !db.d.storable(a.ID) {
		return errDeliveryNotFound()
	}
	return db.completeGrouped(ctx, a)
}

// execQuerier is a pool or a transaction.
type execQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// complete records one attempt through q: the UPDATE, and when it matched nothing, a
// look-up of why (ENOTFOUND or ECONFLICT).
func (db *DB) complete(ctx context.Context, q execQuerier, a unmogrowp.Attempt) error {
	set, at := "", int64(0)
	switch a.Status {
	case unmogrowp.DeliveryPending:
		set, at = `, next_attempt_at = ?`, a.NextAttemptAt.UnixMicro()
	case unmogrowp.DeliveryDelivered:
		set, at = `, delivered_at = ?`, a.At.UnixMicro()
	}
	args := []any{a.Status, a.HTTPStatus, a.Error}
	if set != "" {
		args = append(args, at)
	}
	args = append(args, a.ID, a.LeaseToken)
	res, err := q.ExecContext(ctx, db.q(`UPDATE postback_deliveries SET attempts = attempts + 1,
		status = ?, last_status = ?, last_error = ?`+set+`, leased = FALSE
		WHERE id = ? AND leased = TRUE AND lease_token = ?`), args...)
	if err != nil {
		return db.fail("complete delivery", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return db.fail("complete delivery", err)
	} else if n == 1 {
		return nil
	}
	return db.notCompleted(ctx, q, a.ID)
}

// notCompleted returns why an attempt of the delivery id matched nothing: ENOTFOUND or
// ECONFLICT.
func (db *DB) notCompleted(ctx context.Context, q execQuerier, id string) error {
	var one int
	err := q.QueryRowContext(ctx, db.q(`SELECT 1 FROM postback_deliveries WHERE id = ?`), id).Scan(&one)
	switch {
	case err == sql.ErrNoRows:
		return errDeliveryNotFound()
	case err != nil:
		return db.fail("complete delivery", err)
	}
	return unmogrowp.Errorf(unmogrowp.ECONFLICT, "The delivery's lease is not this attempt's.")
}

// completion is an attempt waiting in completeGrouped, and where its answer goes.
type completion struct {
	a    unmogrowp.Attempt
	done chan error
}

// completeGrouped records the attempt with whatever other attempts are waiting, in one
// transaction: each commit is synced to disk (SQLite's synchronous=FULL, PostgreSQL's
// WAL flush), a few milliseconds that one attempt a transaction would make the ceiling of
// a worker's rate (SQLite commits one transaction at a time). The first
// caller to find no transaction under way records the waiting attempts, batch after
// batch, until none is left; the others wait for their answer. Each gets its own
// attempt's error; when the transaction fails, every attempt of it gets that error and
// none is recorded (their leases run out, and another claim makes them again).
func (db *DB) completeGrouped(ctx context.Context, a unmogrowp.Attempt) error {
	c := &completion{a: a, done: make(chan error, 1)}
	db.completeMu.Lock()
	db.completes = append(db.completes, c)
	lead := !db.completing
	db.completing = true
	db.completeMu.Unlock()
	if lead {
		for {
			db.completeMu.Lock()
			batch := db.completes
			db.completes = nil
			if len(batch) == 0 {
				db.completing = false
				db.completeMu.Unlock()
				break
			}
			db.completeMu.Unlock()
			db.completeBatch(batch)
		}
	}
	select {
	case err := <-c.done:
		return err
	case <-ctx.Done(): // the attempt may still be recorded
		return ctx.Err()
	}
}

// completeChunk is how many attempts one UPDATE of completeBatch records at most: 7 values
// each, below either engine's limit on a statement's parameters.
const completeChunk = 256

// completeQuery returns the UPDATE that records n attempts of distinct deliveries, each
// only while its claim holds it, and returns the ids it recorded.
func completeQuery(n int) string {
	return `WITH v (v_id, v_token, v_status, v_http, v_error, v_next, v_at) AS (VALUES ` +
		values(`(CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT),
			CAST(? AS INTEGER), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS BIGINT))`, n) + `)
		UPDATE postback_deliveries SET attempts = attempts + 1, status = v.v_status,
			last_status = v.v_http, last_error = v.v_error,
			next_attempt_at = CASE WHEN v.v_status = 'pending' THEN v.v_next ELSE next_attempt_at END,
			delivered_at = CASE WHEN v.v_status = 'delivered' THEN v.v_at ELSE delivered_at END,
			leased = FALSE
		FROM v WHERE postback_deliveries.id = v.v_id AND postback_deliveries.leased = TRUE
			AND postback_deliveries.lease_token = v.v_token
		RETURNING id`
}

// completeBatch records the attempts in one transaction and answers each: the attempts of
// distinct deliveries by completeQuery, completeChunk a statement (one round trip for
// many), then a second attempt of one delivery in the batch, if any, on its own.
func (db *DB) completeBatch(batch []*completion) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errs := make([]error, len(batch))
	var first, again []int // indexes in batch
	seen := make(map[string]bool, len(batch))
	for i, c := range batch {
		if seen[c.a.ID] {
			again = append(again, i)
		} else {
			seen[c.a.ID] = true
			first = append(first, i)
		}
	}
	// Prepared before the transaction, which holds SQLite's one write connection.
	sizes := chunkSizes(len(first), completeChunk)
	stmts, err := db.stmts(ctx, &db.completeStmts, completeQuery, sizes)
	if err == nil {
		err = db.outboxWrite(ctx, func(w outboxWriter) error {
			tx, err := w.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			err = db.completeDistinct(ctx, tx, batch, first, sizes, stmts, errs)
			for _, i := range again {
				if err != nil {
					break
				}
				errs[i] = db.complete(ctx, tx, batch[i].a)
				if code := unmogrowp.ErrorCode(errs[i]); code != unmogrowp.ENOTFOUND && code != unmogrowp.ECONFLICT && errs[i] != nil {
					err = errs[i]
				}
			}
			if err == nil {
				err = tx.Commit()
			}
			if err != nil {
				tx.Rollback()
			}
			return err
		})
	}
	for i, c := range batch {
		if err != nil {
			errs[i] = db.fail("complete delivery", err)
		}
		c.done <- errs[i]
	}
}

// completeDistinct records the attempts batch[i] for i in first, of distinct deliveries,
// through the statements of sizes, in tx. It sets errs[i] for an attempt that matched
// nothing (ENOTFOUND or ECONFLICT), and returns the error that fails the transaction.
func (db *DB) completeDistinct(ctx context.Context, tx *sql.Tx, batch []*completion, first, sizes []int, stmts []*sql.Stmt, errs []error) error {
	recorded := make(map[string]bool, len(first))
	args := make([]any, 0, 7*completeChunk)
	rest := first
	for k, n := range sizes {
		args = args[:0]
		for _, i := range rest[:n] {
			a := &batch[i].a
			var next, at int64
			switch a.Status {
			case unmogrowp.DeliveryPending:
				next = a.NextAttemptAt.UnixMicro()
			case unmogrowp.DeliveryDelivered:
				at = a.At.UnixMicro()
			}
			args = append(args, a.ID, a.LeaseToken, a.Status, a.HTTPStatus, a.Error, next, at)
		}
		rest = rest[n:]
		rows, err := tx.StmtContext(ctx, stmts[k]).QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			recorded[id] = true
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	for _, i := range first {
		if id := batch[i].a.ID; !recorded[id] {
			errs[i] = db.notCompleted(ctx, tx, id)
			if code := unmogrowp.ErrorCode(errs[i]); code != unmogrowp.ENOTFOUND && code != unmogrowp.ECONFLICT {
				return errs[i]
			}
		}
	}
	return nil
}

// List implements unmogrowp.Outbox. Its cursor is the last delivery's creation time in
// unix microseconds and its id.
func (db *DB) List(ctx context.Context, f unmogrowp.DeliveryFilter) ([]unmogrowp.Delivery, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	if err := unmogrowp.CheckDeliveryFilter(f); err != nil {
		return nil, "", err
	}
	q := `SELECT ` + deliveryColumns + ` FROM postback_deliveries WHERE app_id = ? AND postback_id = ?`
	args := []any{f.AppID, f.PostbackID}
	if f.Cursor != "" {
		cond, cargs, err := db.pageAfter("created_at", f.Cursor)
		if err != nil {
			return nil, "", err
		}
		q, args = q+cond, append(args, cargs...)
	}
	if !db.d.storable(f.AppID) || !db.d.storable(f.PostbackID) {
		return []unmogrowp.Delivery{}, "", nil
	}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, f.Status)
	}
	if !f.From.IsZero() {
		q += ` AND created_at >= ?`
		args = append(args, f.From.UnixMicro())
	}
	if !f.To.IsZero() {
		q += ` AND created_at < ?`
		args = append(args, f.To.UnixMicro())
	}
	q += ` ORDER BY created_at DESC, id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit+1) // one more tells whether there is a next page
	}
	rows, err := db.read.QueryContext(ctx, db.q(q), args...)
	if err != nil {
		return nil, "", db.fail("list deliveries", err)
	}
	ds, err := collect(db, rows, "list deliveries", scanDelivery)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if f.Limit > 0 && len(ds) > f.Limit {
		ds = ds[:f.Limit]
		last := ds[len(ds)-1]
		next = nextCursor(last.CreatedAt, last.ID)
	}
	out := make([]unmogrowp.Delivery, len(ds))
	for i, d := range ds {
		out[i] = *d
		out[i].LeaseToken = ""
	}
	return out, next, nil
}

// pageAfter returns the condition (" AND ...") and its arguments that select the rows
// after cursor in the order column DESC, id DESC, column holding unix microseconds. The
// cursor is the last row's, as nextCursor writes it; EINVALID if it cannot be read.
func (db *DB) pageAfter(column, cursor string) (string, []any, error) {
	micros, id, ok := strings.Cut(cursor, ".")
	n, err := strconv.ParseInt(micros, 10, 64)
	if !ok || err != nil || id == "" || !db.d.storable(id) {
		return "", nil, unmogrowp.Errorf(unmogrowp.EINVALID, "cursor is not valid.")
	}
	return ` AND (` + column + ` < ? OR (` + column + ` = ? AND id < ?))`, []any{n, n, id}, nil
}

// nextCursor returns the cursor of the page after the row at t with id (pageAfter).
func nextCursor(t time.Time, id string) string {
	return strconv.FormatInt(t.UnixMicro(), 10) + "." + id
}

// scanDelivery reads the deliveryColumns of one row.
func scanDelivery(row scanner) (*unmogrowp.Delivery, error) {
	var (
		d                          unmogrowp.Delivery
		headers                    string
		body                       []byte
		created, next, deliveredAt int64
	)
	if err := row.Scan(&d.ID, &d.PostbackID, &d.AppID, &d.ActivityKind, &d.Status, &d.URL, &d.Host,
		&d.Method, &headers, &body, &d.Attempts, &d.LastStatus, &d.LastError, &created, &next,
		&deliveredAt, &d.LeaseToken); err != nil {
		return nil, err
	}
	if headers != "" {
		if err := json.Unmarshal([]byte(headers), &d.Headers); err != nil {
			return nil, fmt.Errorf("delivery %s: decode headers: %w", d.ID, err)
		}
	}
	if len(body) > 0 {
		d.Body = body
	}
	d.CreatedAt = time.UnixMicro(created).UTC()
	d.NextAttemptAt = time.UnixMicro(next).UTC()
	if deliveredAt != 0 {
		d.DeliveredAt = time.UnixMicro(deliveredAt).UTC()
	}
	return &d, nil
}

func errDeliveryNotFound() error {
	return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "No such delivery.")
}

// pruneChunk is how many deliveries one DELETE of Prune takes: each is a short
// transaction, so that claims and the pipeline's enqueues are not held up behind a long
// one.
const pruneChunk = 5000

// Prune implements unmogrowp.Outbox: DELETEs of at most pruneChunk rows each, found in the
// index of the deliveries that are done with, until one deletes fewer.
func (db *DB) Prune(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		res, err := db.write.ExecContext(ctx, db.q(`DELETE FROM postback_deliveries WHERE id IN (
			SELECT id FROM postback_deliveries WHERE status <> 'pending' AND created_at < ? LIMIT ?)`),
			before.UnixMicro(), pruneChunk)
		if err != nil {
			return total, db.fail("prune deliveries", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, db.fail("prune deliveries", err)
		}
		total += int(n)
		if n < pruneChunk {
			return total, nil
		}
	}
}
