package api

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/attribution"
	"github.com/unmogrowp/unmogrowp/httpserve"
)

// Explainer is what the explain route reads besides Results: the device's install event
// and the app's touchpoints around it (the analytics store).
type Explainer interface {
	// Events returns the stored events that match the filter; see unmogrowp.EventStore.
	Events(ctx context.Context, f unmogrowp.EventFilter) ([]unmogrowp.Event, error)
	// ScanTouchpoints calls fn with each stored touchpoint that matches the filter; see
	// unmogrowp.EventStore.
	ScanTouchpoints(ctx context.Context, f unmogrowp.TouchpointFilter, fn func(*unmogrowp.Touchpoint) error) error
}

// explainAfter is how long after the install the explanation still looks for
// touchpoints: those show as touched after the install.
const explainAfter = time.Hour

// explanation is the body of GET /api/apps/{app_id}/attribution/{device_id}/explain.
type explanation struct {
	Decision   unmogrowp.Attribution   `json:"decision"`
	Candidates []attribution.Candidate `json:"candidates"`
}

// handleExplain explains the device's latest decision: its stored attribution, and every
// touchpoint of the app that matches the install at some waterfall level, touched from
// the app's longest lookback window plus a day before the install to an hour after it,
// judged with the app's current settings and its links' windows (attribution.Rules.Explain),
// as the pipeline judges. The datacenter lists are the ones the process last loaded.
func (s *Server) handleExplain(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	ex := s.cfg.Explain
	if ex == nil {
		return unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "Explanations are not available on this server.")
	}
	deviceID := r.PathValue("device_id")
	if err := unmogrowp.ValidateName("device_id", deviceID); err != nil {
		return err
	}
	ctx := r.Context()
	history, _, err := s.cfg.Results.Installs(ctx, unmogrowp.InstallFilter{AppID: app.ID, DeviceID: deviceID})
	if err != nil {
		return fmt.Errorf("read installs: %w", err)
	}
	if len(history) == 0 {
		return unmogrowp.Errorf(unmogrowp.ENOTFOUND, "This device has no processed install yet.")
	}
	// The latest decision by log position, and the one before it (the prior).
	slices.SortFunc(history, func(a, b unmogrowp.Install) int {
		return cmp.Or(cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Offset, b.Offset))
	})
	latest := history[len(history)-1]
	var prior *attribution.Prior
	if len(history) > 1 {
		p := history[len(history)-2]
		prior = &attribution.Prior{FirstInstallTime: p.FirstInstallTime, Attribution: p.Attribution}
	}
	events, err := ex.Events(ctx, unmogrowp.EventFilter{
		AppID: app.ID, DeviceID: deviceID, EventType: unmogrowp.EventInstall,
		From: latest.InstallTime, To: latest.InstallTime.Add(time.Microsecond),
	})
	if err != nil {
		return fmt.Errorf("read the install event: %w", err)
	}
	install := unmogrowp.Event{AppID: app.ID, DeviceID: deviceID, EventType: unmogrowp.EventInstall,
		EventID: latest.InstallEventID, Timestamp: latest.InstallTime}
	for i := range events {
		if events[i].EventID == latest.InstallEventID {
			install = events[i]
		}
	}
	links, err := s.cfg.Links.Links(ctx, app.ID)
	if err != nil {
		return fmt.Errorf("read links: %w", err)
	}
	rules := attribution.NewRules(app.Settings, links...)
	if s.cfg.Datacenters != nil {
		rules = rules.WithDatacenters(s.cfg.Datacenters)
	}
	keys := map[string]bool{}
	for _, k := range attribution.CandidateKeys(&install).Strings() {
		keys[k] = true
	}
	var cands []unmogrowp.Touchpoint
	err = ex.ScanTouchpoints(ctx, unmogrowp.TouchpointFilter{
		AppID: app.ID, From: install.Timestamp.Add(-rules.Lookback() - 24*time.Hour), To: install.Timestamp.Add(explainAfter),
	}, func(tp *unmogrowp.Touchpoint) error {
		if slices.ContainsFunc(attribution.TouchpointKeys(tp).Strings(), func(k string) bool { return keys[k] }) {
			cands = append(cands, *tp)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read touchpoints: %w", err)
	}
	out := explanation{Decision: latest.Attribution, Candidates: rules.Explain(&install, cands, prior, latest.Attribution)}
	if out.Candidates == nil {
		out.Candidates = []attribution.Candidate{}
	}
	httpserve.JSON(w, http.StatusOK, out)
	return nil
}
