package api

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// DeliveryExporter streams an app's postback deliveries, for the postback_deliveries
// export: package metadata.
type DeliveryExporter interface {
	// ExportDeliveries calls fn with each of the app's deliveries created in [from, to),
	// oldest first (ties by id), without keeping them all, and returns fn's first error.
	ExportDeliveries(ctx context.Context, appID string, from, to time.Time, fn func(*unmogrowp.Delivery) error) error
}

// exportFlushRows is how many rows an export writes between two flushes to the client.
const exportFlushRows = 4096

// exportWriteWait is how long an export waits for its client to take what it writes
// until the next flush. The server's WriteTimeout would cut any export at its end, so
// every flush sets the connection's write deadline this far ahead: an export lasts as
// long as its client keeps reading, and a client that stops is let go.
const exportWriteWait = 30 * time.Second

// handleExport streams a raw export (docs/export.md): every parameter is checked before
// the first byte, then the header row goes out at once and the rows follow as the store
// reads them. An error once the answer has begun cannot be a JSON error any more: the
// connection is cut (the chunked answer has no end), so that a client never takes a
// partial export for a whole one. It reads the stores without the API's per-request
// deadline (withoutDeadline): an export of millions of rows takes minutes.
func (s *Server) handleExport(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	ctx := withoutDeadline(r)
	params := r.URL.Query()
	q := unmogrowp.ExportQuery{
		AppID: app.ID, Report: r.PathValue("report"), MediaSource: params.Get("media_source"),
		Campaign: params.Get("campaign"), EventType: params.Get("event_type"),
	}
	var err error
	if q.From, q.To, err = queryRange(params); err != nil {
		return err
	}
	if err := q.Check(); err != nil {
		return err
	}
	var names []string
	if v := params.Get("fields"); v != "" {
		names = strings.Split(v, ",")
		for i := range names {
			names[i] = strings.TrimSpace(names[i])
		}
	}
	sel, err := unmogrowp.ExportSelect(q.Report, names)
	if err != nil {
		return err
	}
	loc, err := exportLocation(params.Get("timezone"), app)
	if err != nil {
		return err
	}
	format := params.Get("format")
	if format == "" {
		format = unmogrowp.ExportCSV
	}
	ew, err := unmogrowp.NewExportWriter(w, format, unmogrowp.ExportFields[q.Report], sel, loc)
	if err != nil {
		return err
	}
	if q.Report == unmogrowp.ExportPostbackDeliveries && s.cfg.Deliveries == nil {
		return unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "The delivery log is not available on this server.")
	}

	name := fmt.Sprintf("%s-%s-%s-%s.%s", app.ID, q.Report, q.From.UTC().Format("20060102T150405Z"), q.To.UTC().Format("20060102T150405Z"), format)
	h := w.Header()
	h.Set("Content-Type", ew.ContentType())
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	n := 0
	flush := func() error {
		if err := rc.SetWriteDeadline(time.Now().Add(exportWriteWait)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		if err := ew.Flush(); err != nil {
			return err
		}
		return rc.Flush()
	}
	write := func(row []unmogrowp.ExportValue) error {
		if err := ew.WriteRow(row); err != nil {
			return err
		}
		if n++; n%exportFlushRows == 0 {
			return flush()
		}
		return nil
	}
	err = ew.WriteHeader()
	if err == nil {
		err = flush() // the first byte, whatever the range
	}
	if err == nil {
		switch q.Report {
		case unmogrowp.ExportSKANPostbacks:
			// No store holds SKAN postbacks yet: the export has its header and no rows. When
			// they are stored, the analytics stores' Export takes this report like the others.
		case unmogrowp.ExportPostbackDeliveries:
			row := make([]unmogrowp.ExportValue, len(unmogrowp.ExportFields[q.Report]))
			err = s.cfg.Deliveries.ExportDeliveries(ctx, app.ID, q.From, q.To, func(d *unmogrowp.Delivery) error {
				unmogrowp.DeliveryRow(row, d)
				return write(row)
			})
		default:
			err = s.cfg.Results.Export(ctx, q, write)
		}
	}
	if err == nil {
		err = flush()
	}
	if err != nil {
		if ctx.Err() == nil {
			s.cfg.Logger.Error("export cut short", "app_id", app.ID, "report", q.Report, "rows", n, "err", err)
		}
		panic(http.ErrAbortHandler) // cut the connection: the answer must not look whole
	}
	return nil
}

// exportLocation is the time zone an export writes its times in: the timezone parameter
// (an IANA name), else UTC. It returns EINVALID for a name that is not a zone.
func exportLocation(name string, _ *unmogrowp.App) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil // the app's time zone, once apps have one
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "Local" {
		return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "timezone: %q is not an IANA time zone (such as Europe/Berlin).", name)
	}
	return loc, nil
}
