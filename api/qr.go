package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/unmogrowp/unmogrowp"
)

// Sizes of a link's QR code, in pixels a side.
const (
	MinQRSize     = 64
	MaxQRSize     = 2048
	DefaultQRSize = 256
)

// handleLinkQR runs GET /api/apps/{app_id}/links/{link_id}/qr?format=png|svg&size=N: the
// QR code (error correction M, with the standard quiet zone of four modules) of the link's
// click URL, as a PNG (the default) or an SVG image of size x size pixels.
func (s *Server) handleLinkQR(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	q := r.URL.Query()
	format := q.Get("format")
	if format == "" {
		format = "png"
	}
	if format != "png" && format != "svg" {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "format must be png or svg.")
	}
	size := DefaultQRSize
	if v := q.Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < MinQRSize || n > MaxQRSize {
			return unmogrowp.Errorf(unmogrowp.EINVALID, "size must be a whole number of pixels from %d to %d.", MinQRSize, MaxQRSize)
		}
		size = n
	}
	l, err := s.appLink(r, app)
	if err != nil {
		return err
	}
	code, err := qrcode.New(NewLink(l, app, s.cfg.IngestURL).ClickURL, qrcode.Medium)
	if err != nil { // a click URL is short: only a broken encoder gets here
		return fmt.Errorf("encode qr code: %w", err)
	}
	var body []byte
	if format == "png" {
		w.Header().Set("Content-Type", "image/png")
		if body, err = code.PNG(size); err != nil {
			return fmt.Errorf("render qr code: %w", err)
		}
	} else {
		w.Header().Set("Content-Type", "image/svg+xml")
		body = qrSVG(code.Bitmap(), size)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="%s.%s"`, l.ID, format))
	w.Header().Set("Cache-Control", "private, no-cache") // a changed link or API URL shows at once
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	return nil
}

// qrSVG draws a module matrix (true: dark), quiet zone included, as an SVG image of size x
// size pixels: one path of unit squares on a white background, in a viewBox of one unit a
// module, with crisp edges so that scaling never blurs the modules together.
func qrSVG(bitmap [][]bool, size int) []byte {
	n := len(bitmap)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="%d" height="%d" viewBox="0 0 %d %d" shape-rendering="crispEdges">`, size, size, n, n)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y, row := range bitmap {
		for x := 0; x < len(row); x++ {
			if !row[x] {
				continue
			}
			run := 1 // a horizontal run of dark modules is one rectangle
			for x+run < len(row) && row[x+run] {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x, y, run, run)
			x += run - 1
		}
	}
	b.WriteString(`"/></svg>`)
	return []byte(b.String())
}
