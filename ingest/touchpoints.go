package ingest

import (
	"context"
	"net/http"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/httpserve"
)

// handleTouchpoints runs POST /v1/touchpoints: clicks and impressions that servers and ad
// networks send with the app's server key. Valid entries are kept and invalid ones listed by
// their index, as for event batches; ids answers our touchpoint id of each entry, "" for a
// rejected one. The status is "rejected" when no entry was accepted (batchStatus).
func (s *Server) handleTouchpoints(w http.ResponseWriter, r *http.Request) error {
	app, kind, err := s.authenticate(r)
	if err != nil {
		return s.refuse(err, 1)
	}
	if kind != unmogrowp.ServerKey {
		// 403 rather than 401: the SDK key is a valid credential of the app (401 is for
		// unknown or missing keys), only not one that may send touchpoints. It ships inside
		// every copy of the app, so anyone could forge clicks with it.
		return s.refuse(unmogrowp.Errorf(unmogrowp.EFORBIDDEN, "Touchpoints need the app's server key in X-Api-Key; the SDK key may not send them."), 1)
	}
	buf := s.getBuf()
	defer s.bufs.Put(buf)
	body, err := readBody(r, unmogrowp.MaxBatchBytes, buf.body[:0])
	buf.body = body[:0]
	if err != nil {
		return s.refuse(err, 1)
	}
	raws, err := splitTouchpoints(body)
	if err != nil {
		return s.refuse(err, 1)
	}
	if len(raws) > unmogrowp.MaxTouchpointBatch {
		return s.refuse(unmogrowp.Errorf(unmogrowp.ETOOLARGE, "A request holds at most %d touchpoints; this one has %d.", unmogrowp.MaxTouchpointBatch, len(raws)), len(raws))
	}
	if err := s.allow(r.Context(), app, len(raws)); err != nil {
		return err
	}

	now := s.cfg.Now().UTC()
	ids := make([]string, len(raws))
	errs := []batchError{}
	values := buf.values[:0]
	recs := buf.recs[:0]
	for i, raw := range raws {
		var tp unmogrowp.Touchpoint
		err := decodeTouchpoint(raw, &tp)
		if err == nil && tp.LinkID != "" {
			err = s.applyLink(r.Context(), app, &tp)
			if unmogrowp.ErrorCode(err) == unmogrowp.EUNAVAILABLE {
				return s.refuse(err, len(raws))
			}
		}
		if err == nil {
			err = tp.Validate(now, app.Settings.MaxEventAge())
		}
		if err != nil {
			s.metrics.rejected(unmogrowp.ErrorCode(err), 1)
			errs = append(errs, batchError{Index: i, Error: unmogrowp.ErrorMessage(err)})
			continue
		}
		tp.AppID = app.ID
		tp.ID = newEventID()
		ids[i] = tp.ID
		start := len(recs)
		recs = unmogrowp.EncodeTouchpointRecord(recs, &tp)
		values = append(values, recs[start:len(recs):len(recs)])
	}
	buf.values, buf.recs = values[:0], recs[:0]
	if len(values) > 0 {
		if err := s.appendLog(r.Context(), app.ID, values, "touchpoints"); err != nil {
			return s.refuse(err, len(values))
		}
		s.metrics.touchpoints.Add(float64(len(values)))
	}
	httpserve.JSON(w, http.StatusOK, map[string]any{
		"status": batchStatus(len(values), len(errs)), "accepted": len(values), "rejected": len(errs), "errors": errs, "ids": ids,
	})
	return nil
}

// applyLink gives tp the defaults of its link_id, which must be a link of the app. It
// returns EINVALID for an unknown link or another app's (the entry is rejected), and
// EUNAVAILABLE when the link store cannot answer (the whole request is).
func (s *Server) applyLink(ctx context.Context, app *unmogrowp.App, tp *unmogrowp.Touchpoint) error {
	link, _, err := s.link(ctx, tp.LinkID)
	if unmogrowp.ErrorCode(err) == unmogrowp.ENOTFOUND || (err == nil && link.AppID != app.ID) {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "unknown link_id: the app has no tracking link with this id.")
	}
	if err != nil {
		return err
	}
	tp.ApplyLink(link)
	return nil
}
