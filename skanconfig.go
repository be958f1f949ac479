package unmogrowp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// SKANSchema is an app's conversion-value schema, in the shape of Google Ads'
// SkAdNetworkConversionValueSchema with snake_case names: what each fine value, and each
// coarse value of each postback, means in events and revenue.
type SKANSchema struct {
	MeasurementWindowHours int                   `json:"measurement_window_hours"`
	FineMappings           []SKANFineMapping     `json:"fine_grained_conversion_value_mappings"`
	PostbackMappings       []SKANPostbackMapping `json:"postback_mappings"`
}

// SKANFineMapping is what one fine conversion value means.
type SKANFineMapping struct {
	FineValue int              `json:"fine_grained_conversion_value"`
	Mapping   SKANValueMapping `json:"conversion_value_mapping"`
}

// SKANValueMapping is what a conversion value means: the events it stands for.
type SKANValueMapping struct {
	MinTimePostInstallHours int               `json:"min_time_post_install_hours"`
	MaxTimePostInstallHours int               `json:"max_time_post_install_hours"`
	MappedEvents            []SKANMappedEvent `json:"mapped_events"`
}

// SKANMappedEvent is one event a conversion value stands for, with its revenue (a range
// or one value) and how often it happened (a range or one count).
type SKANMappedEvent struct {
	MappedEventName      string            `json:"mapped_event_name"`
	CurrencyCode         string            `json:"currency_code,omitempty"`
	EventRevenueRange    *SKANRevenueRange `json:"event_revenue_range,omitempty"`
	EventRevenueValue    *float64          `json:"event_revenue_value,omitempty"`
	EventOccurrenceRange *SKANCounterRange `json:"event_occurrence_range,omitempty"`
	EventCounter         *int              `json:"event_counter,omitempty"`
}

// SKANRevenueRange is a range of revenue.
type SKANRevenueRange struct {
	Min float64 `json:"min_event_revenue"`
	Max float64 `json:"max_event_revenue"`
}

// SKANCounterRange is a range of event counts.
type SKANCounterRange struct {
	Min int `json:"min_event_counter"`
	Max int `json:"max_event_counter"`
}

// SKANPostbackMapping is what the coarse values of one postback (by sequence index) mean.
type SKANPostbackMapping struct {
	PostbackSequenceIndex int                `json:"postback_sequence_index"`
	Coarse                SKANCoarseMappings `json:"coarse_grained_conversion_value_mappings"`
}

// SKANCoarseMappings are the meanings of the three coarse values; nil: not mapped.
type SKANCoarseMappings struct {
	Low    *SKANValueMapping `json:"low_conversion_value_mapping,omitempty"`
	Medium *SKANValueMapping `json:"medium_conversion_value_mapping,omitempty"`
	High   *SKANValueMapping `json:"high_conversion_value_mapping,omitempty"`
}

// MaxSKANConfigBytes is the largest schema or networks body accepted.
const MaxSKANConfigBytes = 1 << 20

// DecodeSKANJSON decodes a schema or networks body into v, refusing unknown fields and
// trailing data. It returns EINVALID with a sentence naming what is wrong.
func DecodeSKANJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		switch {
		case errors.As(err, &ute) && ute.Field != "":
			return Errorf(EINVALID, "%s must be a %s.", ute.Field, jsonKind(ute.Type.Kind().String()))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return Errorf(EINVALID, "Unknown field %s.", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return Errorf(EINVALID, "The body must be a JSON object.")
	}
	if _, err := d.Token(); err != io.EOF {
		return Errorf(EINVALID, "The body must hold one JSON object.")
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "float64":
		return "number"
	case "slice":
		return "list"
	case "map", "struct", "ptr":
		return "object"
	}
	return goKind
}

// Validate checks the schema and returns an EINVALID error naming the first bad field.
func (s *SKANSchema) Validate() error {
	if s.MeasurementWindowHours < 0 || s.MeasurementWindowHours > 2160 {
		return Errorf(EINVALID, "measurement_window_hours must be from 0 to 2160.")
	}
	seen := map[int]bool{}
	for i, m := range s.FineMappings {
		f := fmt.Sprintf("fine_grained_conversion_value_mappings[%d]", i)
		if m.FineValue < 0 || m.FineValue > 63 {
			return Errorf(EINVALID, "%s.fine_grained_conversion_value must be from 0 to 63.", f)
		}
		if seen[m.FineValue] {
			return Errorf(EINVALID, "%s.fine_grained_conversion_value %d is mapped twice.", f, m.FineValue)
		}
		seen[m.FineValue] = true
		if err := m.Mapping.validate(f + ".conversion_value_mapping"); err != nil {
			return err
		}
	}
	seenSeq := map[int]bool{}
	for i, pm := range s.PostbackMappings {
		f := fmt.Sprintf("postback_mappings[%d]", i)
		if pm.PostbackSequenceIndex < 0 || pm.PostbackSequenceIndex > 2 {
			return Errorf(EINVALID, "%s.postback_sequence_index must be 0, 1 or 2.", f)
		}
		if seenSeq[pm.PostbackSequenceIndex] {
			return Errorf(EINVALID, "%s.postback_sequence_index %d is mapped twice.", f, pm.PostbackSequenceIndex)
		}
		seenSeq[pm.PostbackSequenceIndex] = true
		for j, m := range pm.Coarse.list() {
			if m == nil {
				continue
			}
			if err := m.validate(fmt.Sprintf("%s.coarse_grained_conversion_value_mappings.%s_conversion_value_mapping", f, CoarseValues[j])); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *SKANCoarseMappings) list() [3]*SKANValueMapping {
	return [3]*SKANValueMapping{c.Low, c.Medium, c.High}
}

func (m *SKANValueMapping) validate(f string) error {
	if m.MinTimePostInstallHours < 0 || m.MaxTimePostInstallHours < 0 {
		return Errorf(EINVALID, "%s.min_time_post_install_hours and max_time_post_install_hours must not be negative.", f)
	}
	if m.MaxTimePostInstallHours != 0 && m.MaxTimePostInstallHours < m.MinTimePostInstallHours {
		return Errorf(EINVALID, "%s.max_time_post_install_hours must not be below min_time_post_install_hours.", f)
	}
	for i, e := range m.MappedEvents {
		ef := fmt.Sprintf("%s.mapped_events[%d]", f, i)
		if strings.TrimSpace(e.MappedEventName) == "" || utf8.RuneCountInString(e.MappedEventName) > 200 {
			return Errorf(EINVALID, "%s.mapped_event_name is required, at most 200 characters.", ef)
		}
		hasRevenue := e.EventRevenueRange != nil || e.EventRevenueValue != nil
		if e.CurrencyCode != "" && !isCurrency(e.CurrencyCode) {
			return Errorf(EINVALID, "%s.currency_code must be a three-letter ISO 4217 code.", ef)
		}
		if hasRevenue && e.CurrencyCode == "" {
			return Errorf(EINVALID, "%s.currency_code is required with a revenue.", ef)
		}
		if e.EventRevenueRange != nil && e.EventRevenueValue != nil {
			return Errorf(EINVALID, "%s: give event_revenue_range or event_revenue_value, not both.", ef)
		}
		if r := e.EventRevenueRange; r != nil && (r.Min < 0 || r.Max < r.Min || math.IsInf(r.Max, 0)) {
			return Errorf(EINVALID, "%s.event_revenue_range must have 0 <= min_event_revenue <= max_event_revenue.", ef)
		}
		if v := e.EventRevenueValue; v != nil && *v < 0 {
			return Errorf(EINVALID, "%s.event_revenue_value must not be negative.", ef)
		}
		if r := e.EventOccurrenceRange; r != nil && (r.Min < 0 || r.Max < r.Min) {
			return Errorf(EINVALID, "%s.event_occurrence_range must have 0 <= min_event_counter <= max_event_counter.", ef)
		}
		if c := e.EventCounter; c != nil && *c < 0 {
			return Errorf(EINVALID, "%s.event_counter must not be negative.", ef)
		}
	}
	return nil
}

func isCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, c := range []byte(s) {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// SKANDecoded is what a postback's conversion value means under the schema: the events it
// stands for and the revenue range they carry (nil: no revenue mapped), in Currency.
type SKANDecoded struct {
	Events     []string `json:"events"`
	RevenueMin *float64 `json:"revenue_min"`
	RevenueMax *float64 `json:"revenue_max"`
	Currency   string   `json:"currency"`
}

// Mapping returns the mapping of a fine value (0..63), or else of a coarse value ("low",
// "medium", "high") of the postback with the sequence index (absent: 0); nil when the
// schema maps neither. A nil schema maps nothing.
func (s *SKANSchema) Mapping(seq, fine int64, coarse string) *SKANValueMapping {
	if s == nil {
		return nil
	}
	if fine >= 0 {
		for i := range s.FineMappings {
			if int64(s.FineMappings[i].FineValue) == fine {
				return &s.FineMappings[i].Mapping
			}
		}
		return nil
	}
	seq = max(seq, 0)
	for i := range s.PostbackMappings {
		pm := &s.PostbackMappings[i]
		if int64(pm.PostbackSequenceIndex) != seq {
			continue
		}
		switch coarse {
		case "low":
			return pm.Coarse.Low
		case "medium":
			return pm.Coarse.Medium
		case "high":
			return pm.Coarse.High
		}
	}
	return nil
}

// Decode is what the mapping means: its events, and the sum of their revenues (a value
// counts as its own min and max). A nil mapping decodes to no events.
func (m *SKANValueMapping) Decode() SKANDecoded {
	d := SKANDecoded{Events: []string{}}
	if m == nil {
		return d
	}
	var lo, hi float64
	revenue := false
	for _, e := range m.MappedEvents {
		d.Events = append(d.Events, e.MappedEventName)
		switch {
		case e.EventRevenueRange != nil:
			lo, hi, revenue = lo+e.EventRevenueRange.Min, hi+e.EventRevenueRange.Max, true
		case e.EventRevenueValue != nil:
			lo, hi, revenue = lo+*e.EventRevenueValue, hi+*e.EventRevenueValue, true
		default:
			continue
		}
		if d.Currency == "" {
			d.Currency = e.CurrencyCode
		}
	}
	if revenue {
		d.RevenueMin, d.RevenueMax = &lo, &hi
	}
	return d
}

// SKANNetworks maps ad network ids to media sources, and their campaign ids and source
// identifiers to campaign names.
type SKANNetworks struct {
	Networks []SKANNetwork `json:"networks"`
}

// SKANNetwork is one ad network's mapping.
type SKANNetwork struct {
	AdNetworkID string            `json:"ad_network_id"`
	MediaSource string            `json:"media_source"`
	Campaigns   map[string]string `json:"campaigns"`
}

// Validate checks the networks and returns an EINVALID error naming the first bad field:
// an ad network id is required and appears once; a media source is required; campaign
// keys are campaign ids or source identifiers (1 to 4 digits), names not blank; strings
// at most 200 characters.
func (n *SKANNetworks) Validate() error {
	seen := map[string]bool{}
	for i, nw := range n.Networks {
		f := fmt.Sprintf("networks[%d]", i)
		if strings.TrimSpace(nw.AdNetworkID) == "" || utf8.RuneCountInString(nw.AdNetworkID) > 200 {
			return Errorf(EINVALID, "%s.ad_network_id is required, at most 200 characters.", f)
		}
		if seen[nw.AdNetworkID] {
			return Errorf(EINVALID, "%s.ad_network_id %q appears twice.", f, nw.AdNetworkID)
		}
		seen[nw.AdNetworkID] = true
		if strings.TrimSpace(nw.MediaSource) == "" || utf8.RuneCountInString(nw.MediaSource) > 200 {
			return Errorf(EINVALID, "%s.media_source is required, at most 200 characters.", f)
		}
		keys := make([]string, 0, len(nw.Campaigns))
		for k := range nw.Campaigns {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if len(k) < 1 || len(k) > 4 || strings.Trim(k, "0123456789") != "" {
				return Errorf(EINVALID, "%s.campaigns: %q is not a campaign id or a source identifier (1 to 4 digits).", f, k)
			}
			if v := nw.Campaigns[k]; strings.TrimSpace(v) == "" || utf8.RuneCountInString(v) > 200 {
				return Errorf(EINVALID, "%s.campaigns[%q] must be a name of 1 to 200 characters.", f, k)
			}
		}
	}
	return nil
}

// Map returns the media source and campaign of a postback's ad network and campaign key
// (SKANPostback.CampaignKey): the network's media source, else the ad network id; the
// campaign of the key, else of its longest prefix of 2 or 3 digits that is mapped (source
// identifiers are hierarchical), else the key itself.
func (n *SKANNetworks) Map(adNetworkID, campaignKey string) (mediaSource, campaign string) {
	mediaSource, campaign = adNetworkID, campaignKey
	for _, nw := range n.Networks {
		if nw.AdNetworkID != adNetworkID {
			continue
		}
		mediaSource = nw.MediaSource
		if name, ok := nw.Campaigns[campaignKey]; ok {
			return mediaSource, name
		}
		for l := len(campaignKey) - 1; l >= 2; l-- {
			if name, ok := nw.Campaigns[campaignKey[:l]]; ok {
				return mediaSource, name
			}
		}
		break
	}
	return mediaSource, campaign
}

// SKANConfig is an app's SKAN schema and networks.
type SKANConfig struct {
	Schema   *SKANSchema // nil: none set
	Networks SKANNetworks
}

// SKANConfigStore is the metadata store's side for SKAN: apps by App Store id, and each
// app's schema and networks.
type SKANConfigStore interface {
	// AppByStoreID returns the app whose settings claim the App Store id. Returns
	// ENOTFOUND if none does.
	AppByStoreID(ctx context.Context, storeID int64) (*App, error)

	// SKANConfig returns the app's schema and networks; an app that set none has a nil
	// Schema and no Networks.
	SKANConfig(ctx context.Context, appID string) (SKANConfig, error)

	// PutSKANSchema replaces the app's schema. Returns EINVALID for an invalid schema,
	// ENOTFOUND if there is no such app.
	PutSKANSchema(ctx context.Context, appID string, s *SKANSchema) error

	// PutSKANNetworks replaces the app's networks. Returns EINVALID for invalid networks,
	// ENOTFOUND if there is no such app.
	PutSKANNetworks(ctx context.Context, appID string, n *SKANNetworks) error
}
