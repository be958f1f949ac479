package api

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/httpserve"
)

// Limits of GET /api/apps/{app_id}/skan/postbacks.
const (
	DefaultSKANPostbacksLimit = 100
	MaxSKANPostbacksLimit     = 1000
)

// skanConfig returns the SKAN configuration store, or EUNAVAILABLE without one.
func (s *Server) skanConfig() (unmogrowp.SKANConfigStore, error) {
	if s.cfg.SKAN == nil {
		return nil, unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "SKAN settings are not available on this server.")
	}
	return s.cfg.SKAN, nil
}

// skanResults returns the store of SKAN postbacks, or EUNAVAILABLE without one.
func (s *Server) skanResults() (unmogrowp.SKANStore, error) {
	if s.cfg.SKANResults == nil {
		return nil, unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "SKAN postbacks are not available on this server.")
	}
	return s.cfg.SKANResults, nil
}

// readSKANBody reads a schema or networks body into v (unmogrowp.DecodeSKANJSON).
func readSKANBody(r *http.Request, v any) error {
	body, err := readBody(r, unmogrowp.MaxSKANConfigBytes)
	if err != nil {
		return err
	}
	if err := unmogrowp.DecodeSKANJSON(body, v); err != nil {
		return err
	}
	return httpserve.CheckJSONText(body, "The body", nil)
}

func (s *Server) handleGetSKANSchema(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	cs, err := s.skanConfig()
	if err != nil {
		return err
	}
	c, err := cs.SKANConfig(r.Context(), app.ID)
	if err != nil {
		return fmt.Errorf("read skan config: %w", err)
	}
	schema := c.Schema
	if schema == nil {
		schema = &unmogrowp.SKANSchema{}
	}
	httpserve.JSON(w, http.StatusOK, normalizeSchema(schema))
	return nil
}

func (s *Server) handlePutSKANSchema(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	cs, err := s.skanConfig()
	if err != nil {
		return err
	}
	var schema unmogrowp.SKANSchema
	if err := readSKANBody(r, &schema); err != nil {
		return err
	}
	if err := cs.PutSKANSchema(r.Context(), app.ID, &schema); err != nil {
		return fmt.Errorf("put skan schema: %w", err)
	}
	httpserve.JSON(w, http.StatusOK, normalizeSchema(&schema))
	return nil
}

// normalizeSchema writes absent lists as [].
func normalizeSchema(s *unmogrowp.SKANSchema) *unmogrowp.SKANSchema {
	c := *s
	if c.FineMappings == nil {
		c.FineMappings = []unmogrowp.SKANFineMapping{}
	}
	if c.PostbackMappings == nil {
		c.PostbackMappings = []unmogrowp.SKANPostbackMapping{}
	}
	return &c
}

func (s *Server) handleGetSKANNetworks(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	cs, err := s.skanConfig()
	if err != nil {
		return err
	}
	c, err := cs.SKANConfig(r.Context(), app.ID)
	if err != nil {
		return fmt.Errorf("read skan config: %w", err)
	}
	httpserve.JSON(w, http.StatusOK, normalizeNetworks(c.Networks))
	return nil
}

func (s *Server) handlePutSKANNetworks(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	cs, err := s.skanConfig()
	if err != nil {
		return err
	}
	var n unmogrowp.SKANNetworks
	if err := readSKANBody(r, &n); err != nil {
		return err
	}
	if err := cs.PutSKANNetworks(r.Context(), app.ID, &n); err != nil {
		return fmt.Errorf("put skan networks: %w", err)
	}
	httpserve.JSON(w, http.StatusOK, normalizeNetworks(n))
	return nil
}

// normalizeNetworks writes absent lists and maps as [] and {}.
func normalizeNetworks(n unmogrowp.SKANNetworks) unmogrowp.SKANNetworks {
	out := unmogrowp.SKANNetworks{Networks: make([]unmogrowp.SKANNetwork, len(n.Networks))}
	for i, nw := range n.Networks {
		if nw.Campaigns == nil {
			nw.Campaigns = map[string]string{}
		}
		out.Networks[i] = nw
	}
	return out
}

// skanPostbackJSON is a stored postback as the API answers it (SKAN.md, "Results"):
// absent numbers and booleans null, absent strings "".
type skanPostbackJSON struct {
	ID                      string                `json:"id"`
	AppID                   string                `json:"app_id"`
	Kind                    string                `json:"kind"`
	Version                 string                `json:"version"`
	AdNetworkID             string                `json:"ad_network_id"`
	MediaSource             string                `json:"media_source"`
	Campaign                string                `json:"campaign"`
	SourceIdentifier        string                `json:"source_identifier"`
	CampaignID              *int64                `json:"campaign_id"`
	SourceAppID             *int64                `json:"source_app_id"`
	SourceDomain            string                `json:"source_domain"`
	PublisherItemIdentifier *int64                `json:"publisher_item_identifier"`
	TransactionID           string                `json:"transaction_id"`
	PostbackIdentifier      string                `json:"postback_identifier"`
	PostbackSequenceIndex   *int64                `json:"postback_sequence_index"`
	DidWin                  *bool                 `json:"did_win"`
	Redownload              *bool                 `json:"redownload"`
	FidelityType            *int64                `json:"fidelity_type"`
	ConversionValue         *int64                `json:"conversion_value"`
	CoarseConversionValue   string                `json:"coarse_conversion_value"`
	ConversionType          string                `json:"conversion_type"`
	AdInteractionType       string                `json:"ad_interaction_type"`
	CountryCode             string                `json:"country_code"`
	Signature               string                `json:"signature"`
	Environment             string                `json:"environment"`
	CVMismatch              bool                  `json:"cv_mismatch"`
	Decoded                 unmogrowp.SKANDecoded `json:"decoded"`
	ReceivedAt              string                `json:"received_at"`
}

func optInt(v int64) *int64 {
	if v == unmogrowp.Absent {
		return nil
	}
	return &v
}

func optBool(v int64) *bool {
	if v == unmogrowp.Absent {
		return nil
	}
	b := v == 1
	return &b
}

// newSKANPostbackJSON maps and decodes a stored postback with the app's config.
func newSKANPostbackJSON(p *unmogrowp.StoredSKANPostback, c *unmogrowp.SKANConfig) skanPostbackJSON {
	ms, campaign := c.Networks.Map(p.AdNetworkID, p.CampaignKey())
	return skanPostbackJSON{
		ID: p.ID, AppID: p.AppID, Kind: p.Kind, Version: p.Version, AdNetworkID: p.AdNetworkID,
		MediaSource: ms, Campaign: campaign, SourceIdentifier: p.SourceIdentifier,
		CampaignID: optInt(p.CampaignID), SourceAppID: optInt(p.SourceAppID), SourceDomain: p.SourceDomain,
		PublisherItemIdentifier: optInt(p.PublisherItemIdentifier), TransactionID: p.TransactionID,
		PostbackIdentifier: p.PostbackIdentifier, PostbackSequenceIndex: optInt(p.PostbackSequenceIndex),
		DidWin: optBool(p.DidWin), Redownload: optBool(p.Redownload), FidelityType: optInt(p.FidelityType),
		ConversionValue: optInt(p.ConversionValue), CoarseConversionValue: p.CoarseConversionValue,
		ConversionType: p.ConversionType, AdInteractionType: p.AdInteractionType, CountryCode: p.CountryCode,
		Signature: p.Signature, Environment: p.Environment, CVMismatch: p.CVMismatch,
		Decoded:    c.Schema.Mapping(p.PostbackSequenceIndex, p.ConversionValue, p.CoarseConversionValue).Decode(),
		ReceivedAt: p.ReceivedAt.UTC().Format(time.RFC3339Nano),
	}
}

func (s *Server) handleSKANPostbacks(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	cs, err := s.skanConfig()
	if err != nil {
		return err
	}
	rs, err := s.skanResults()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := unmogrowp.SKANFilter{AppID: app.ID, Cursor: q.Get("cursor")}
	if f.From, f.To, err = queryRange(q); err != nil {
		return err
	}
	if f.Limit, err = queryLimit(q, DefaultSKANPostbacksLimit, MaxSKANPostbacksLimit); err != nil {
		return err
	}
	c, err := cs.SKANConfig(r.Context(), app.ID)
	if err != nil {
		return fmt.Errorf("read skan config: %w", err)
	}
	ps, next, err := rs.SKANPostbacks(r.Context(), f)
	if err != nil {
		return fmt.Errorf("read skan postbacks: %w", err)
	}
	out := make([]skanPostbackJSON, len(ps))
	for i := range ps {
		out[i] = newSKANPostbackJSON(&ps[i], &c)
	}
	httpserve.JSON(w, http.StatusOK, map[string]any{"postbacks": out, "next_cursor": next})
	return nil
}

// skanReportRow is one row of the SKAN report as the API answers it.
type skanReportRow struct {
	MediaSource           string           `json:"media_source"`
	Campaign              string           `json:"campaign"`
	PostbackSequenceIndex int64            `json:"postback_sequence_index"`
	Installs              int64            `json:"installs"`
	Redownloads           int64            `json:"redownloads"`
	NonWinning            int64            `json:"non_winning"`
	Reengagements         int64            `json:"reengagements"`
	ConversionValues      map[string]int64 `json:"conversion_values"`
	NullConversionValues  int64            `json:"null_conversion_values"`
	Coarse                map[string]int64 `json:"coarse"`
	RevenueMin            float64          `json:"revenue_min"`
	RevenueMax            float64          `json:"revenue_max"`
	InvalidSignatures     int64            `json:"invalid_signatures"`
}

// skanReport maps the store's rows to media sources and campaigns (merging rows that map
// to the same ones) and adds the revenue range the schema gives each counted value: a
// fine value's mapping, or the coarse value's of the row's postback.
func skanReport(rows []unmogrowp.SKANReportRow, c *unmogrowp.SKANConfig) []skanReportRow {
	out := []skanReportRow{}
	idx := map[string]int{}
	for _, r := range rows {
		ms, campaign := c.Networks.Map(r.AdNetworkID, r.CampaignKey)
		k := ms + "\x1f" + campaign + "\x1f" + strconv.FormatInt(r.PostbackSequenceIndex, 10)
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			row := skanReportRow{MediaSource: ms, Campaign: campaign, PostbackSequenceIndex: r.PostbackSequenceIndex,
				ConversionValues: make(map[string]int64, 64), Coarse: map[string]int64{"low": 0, "medium": 0, "high": 0}}
			for v := range 64 {
				row.ConversionValues[strconv.Itoa(v)] = 0
			}
			out = append(out, row)
		}
		o := &out[i]
		o.Installs += r.Installs
		o.Redownloads += r.Redownloads
		o.NonWinning += r.NonWinning
		o.Reengagements += r.Reengagements
		o.NullConversionValues += r.NullConversionValues
		o.InvalidSignatures += r.InvalidSignatures
		addRevenue := func(n int64, m *unmogrowp.SKANValueMapping) {
			if d := m.Decode(); n > 0 && d.RevenueMin != nil {
				o.RevenueMin += float64(n) * *d.RevenueMin
				o.RevenueMax += float64(n) * *d.RevenueMax
			}
		}
		for v, n := range r.ConversionValues {
			o.ConversionValues[strconv.Itoa(v)] += n
			addRevenue(n, c.Schema.Mapping(r.PostbackSequenceIndex, int64(v), ""))
		}
		for j, name := range unmogrowp.CoarseValues {
			o.Coarse[name] += r.Coarse[j]
			addRevenue(r.Coarse[j], c.Schema.Mapping(r.PostbackSequenceIndex, unmogrowp.Absent, name))
		}
	}
	return out
}

func (s *Server) handleSKANReport(r *http.Request, q reportQuery) (any, error) {
	cs, err := s.skanConfig()
	if err != nil {
		return nil, err
	}
	rs, err := s.skanResults()
	if err != nil {
		return nil, err
	}
	c, err := cs.SKANConfig(r.Context(), q.app.ID)
	if err != nil {
		return nil, fmt.Errorf("read skan config: %w", err)
	}
	rows, err := rs.SKANReport(r.Context(), q.app.ID, q.from, q.to, q.app.Settings.SKANAcceptDevelopment)
	if err != nil {
		return nil, err
	}
	return map[string]any{"rows": skanReport(rows, &c)}, nil
}
