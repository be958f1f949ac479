package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/fx"
	"github.com/unmogrowp/unmogrowp/httpserve"
)

// maxRatesBody bounds the body of PUT /api/fx-rates: one date's rates for every currency
// there is fit in a few kilobytes.
const maxRatesBody = 64 << 10

// handleFXRates is GET /api/fx-rates?date=YYYY-MM-DD: the rates loaded for the date, for
// any signed-in user (rates are the server's, not an app's).
func (s *Server) handleFXRates(w http.ResponseWriter, r *http.Request, _ *unmogrowp.User) error {
	if s.cfg.FXRates == nil {
		return errNoRates()
	}
	date := r.URL.Query().Get("date")
	if date == "" {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "date is required, YYYY-MM-DD.")
	}
	rates, err := s.cfg.FXRates.FXRates(r.Context(), date)
	if err != nil {
		return fmt.Errorf("read fx rates: %w", err)
	}
	httpserve.JSON(w, http.StatusOK, rates)
	return nil
}

// handlePutFXRates is PUT /api/fx-rates: it replaces the rates of the body's date, for a
// user whose email is in AdminEmails only (403 for anyone else), and answers the rates
// as stored.
func (s *Server) handlePutFXRates(w http.ResponseWriter, r *http.Request, u *unmogrowp.User) error {
	if s.cfg.FXRates == nil {
		return errNoRates()
	}
	if !s.isAdmin(u) {
		return unmogrowp.Errorf(unmogrowp.EFORBIDDEN, "Only the server's administrators (ADMIN_EMAILS) may load exchange rates.")
	}
	body, err := readBody(r, maxRatesBody)
	if err != nil {
		return err
	}
	rates, err := fx.DecodeRates(body)
	if err != nil {
		return err
	}
	if err := s.cfg.FXRates.PutFXRates(r.Context(), *rates); err != nil {
		return fmt.Errorf("put fx rates: %w", err)
	}
	httpserve.JSON(w, http.StatusOK, rates)
	return nil
}

// isAdmin reports whether the user's email is one of AdminEmails, in any case.
func (s *Server) isAdmin(u *unmogrowp.User) bool {
	for _, e := range s.cfg.AdminEmails {
		if strings.EqualFold(e, u.Email) {
			return true
		}
	}
	return false
}

func errNoRates() error {
	return unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "Exchange rates are not available on this server.")
}
