package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/httpserve"
)

// handlePutCosts runs POST /api/apps/{app_id}/costs: a cost CSV file or a JSON body
// (decodeCosts), upserted whole or not at all. It answers how many rows it read.
func (s *Server) handlePutCosts(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	if s.cfg.Costs == nil {
		return unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "Cost import is not configured on this server.")
	}
	body, err := readBody(r, unmogrowp.MaxCostBytes)
	if unmogrowp.ErrorCode(err) == unmogrowp.ETOOLARGE {
		return unmogrowp.Errorf(unmogrowp.ETOOLARGE, "The body is larger than %d bytes; send the rows in several requests.", unmogrowp.MaxCostBytes)
	}
	if err != nil {
		return err
	}
	costs, err := decodeCosts(r.Header.Get("Content-Type"), body)
	if err != nil {
		return err
	}
	if err := s.cfg.Costs.PutCosts(r.Context(), app.ID, costs); err != nil {
		return fmt.Errorf("put costs: %w", err)
	}
	s.audit(r, app.ID, auditActionCostImport, app.ID, map[string]any{"rows": len(costs)})
	httpserve.JSON(w, http.StatusOK, map[string]any{"rows": len(costs)})
	return nil
}

// handleCosts runs GET /api/apps/{app_id}/costs?from=&to=: the app's imported rows with
// date in [from, to], both days (YYYY-MM-DD) and both optional.
func (s *Server) handleCosts(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	if s.cfg.Costs == nil {
		return unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "Cost import is not configured on this server.")
	}
	q := r.URL.Query()
	from, to := q.Get("from"), q.Get("to")
	for _, p := range []struct{ name, v string }{{"from", from}, {"to", to}} {
		if _, err := time.Parse(time.DateOnly, p.v); p.v != "" && err != nil {
			return unmogrowp.Errorf(unmogrowp.EINVALID, "%s must be a day as YYYY-MM-DD.", p.name)
		}
	}
	if from != "" && to != "" && to < from {
		return errRangeReversed()
	}
	costs, err := s.cfg.Costs.Costs(r.Context(), app.ID, from, to)
	if err != nil {
		return fmt.Errorf("list costs: %w", err)
	}
	httpserve.JSON(w, http.StatusOK, map[string]any{"costs": costs})
	return nil
}

// mediaSourceReport is the media_sources report with its cost (docs/cost.md): the
// analytics store's rows, and the cost of the touchpoints and of the imported rows,
// merged and converted to the app's reporting currency by day of its zone
// (unmogrowp.CostSources.Daily); unconverted_amounts counts revenue's and cost's.
func (s *Server) mediaSourceReport(r *http.Request, q reportQuery) (*unmogrowp.MediaSourceReport, error) {
	rep, err := s.cfg.Results.MediaSourceReport(r.Context(), q.app.ID, q.from, q.to, q.scope)
	if err != nil {
		return nil, err
	}
	costs, unconverted, err := s.costs.Daily(r.Context(), q.app.ID, q.from, q.to, q.scope)
	if err != nil {
		return nil, fmt.Errorf("read cost: %w", err)
	}
	rep.AddCost(costs, q.scope.Currency, unconverted)
	return rep, nil
}

// auditActionCostImport is the audit log's action for an import of cost rows; its changes
// say how many rows the import upserted.
const auditActionCostImport = "cost.import"
