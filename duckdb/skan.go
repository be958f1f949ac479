package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"math"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

var _ unmogrowp.SKANStore = (*Store)(nil)

// skanTable is where Append writes SKAN postbacks (0008_skan.sql), in its column order.
var skanTable = table{name: "skan_postbacks", columns: []string{
	"partition", "offset", "id", "app_id", "kind", "from_apple", "dedup_key", "version",
	"ad_network_id", "source_identifier", "campaign_id", "app_store_id", "source_app_id",
	"source_domain", "publisher_item_identifier", "transaction_id", "postback_identifier",
	"postback_sequence_index", "did_win", "redownload", "fidelity_type", "conversion_value",
	"coarse_conversion_value", "conversion_type", "ad_interaction_type", "country_code",
	"signature", "environment", "received_at",
}}

func skanPos(p *unmogrowp.SKANPostback) (int32, int64) { return p.Partition, p.Offset }

// fillSKAN sets a row's values in skanTable's column order.
func fillSKAN(row []driver.Value, p *unmogrowp.SKANPostback) {
	vals := []driver.Value{
		p.Partition, p.Offset, p.ID, p.AppID, p.Kind, p.FromApple, p.DedupKey(), p.Version,
		p.AdNetworkID, p.SourceIdentifier, p.CampaignID, p.AppStoreID, p.SourceAppID,
		p.SourceDomain, p.PublisherItemIdentifier, p.TransactionID, p.PostbackIdentifier,
		p.PostbackSequenceIndex, p.DidWin, p.Redownload, p.FidelityType, p.ConversionValue,
		p.CoarseConversionValue, p.ConversionType, p.AdInteractionType, p.CountryCode,
		p.Signature, p.Environment, p.ReceivedAt.UnixMicro(),
	}
	copy(row, vals)
}

// SKANPostbacks implements unmogrowp.SKANStore with skan_postbacks.sql.
func (s *Store) SKANPostbacks(ctx context.Context, f unmogrowp.SKANFilter) ([]unmogrowp.StoredSKANPostback, string, error) {
	if f.AppID == "" {
		return nil, "", unmogrowp.Errorf(unmogrowp.EINVALID, "app_id is required.")
	}
	from, to := unmogrowp.MicroRange(f.From, f.To)
	after := unmogrowp.PageCursor{Time: math.MaxInt64, Partition: math.MaxInt32, Offset: math.MaxInt64}
	if f.Cursor != "" {
		c, ok := unmogrowp.ParsePageCursor(f.Cursor)
		if !ok {
			return nil, "", unmogrowp.Errorf(unmogrowp.EINVALID, "cursor is not one this list made.")
		}
		after = c
	}
	limit := int64(math.MaxInt64)
	if f.Limit > 0 {
		limit = int64(f.Limit) + 1
	}
	out := []unmogrowp.StoredSKANPostback{}
	err := s.each(ctx, "skan_postbacks", func(rows *sql.Rows) error {
		var p unmogrowp.StoredSKANPostback
		var received int64
		if err := rows.Scan(&p.Partition, &p.Offset, &p.ID, &p.AppID, &p.Kind, &p.FromApple, &p.Version,
			&p.AdNetworkID, &p.SourceIdentifier, &p.CampaignID, &p.AppStoreID, &p.SourceAppID, &p.SourceDomain,
			&p.PublisherItemIdentifier, &p.TransactionID, &p.PostbackIdentifier, &p.PostbackSequenceIndex,
			&p.DidWin, &p.Redownload, &p.FidelityType, &p.ConversionValue, &p.CoarseConversionValue,
			&p.ConversionType, &p.AdInteractionType, &p.CountryCode, &p.Signature, &p.Environment, &received,
			&p.CVMismatch); err != nil {
			return err
		}
		p.ReceivedAt = time.UnixMicro(received).UTC()
		out = append(out, p)
		return nil
	}, f.AppID, from, to, after.Time, after.Partition, after.Offset, limit)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
		last := out[len(out)-1]
		next = unmogrowp.PageCursor{Time: last.ReceivedAt.UnixMicro(), Partition: last.Partition, Offset: last.Offset}.String()
	}
	return out, next, nil
}

// SKANReport implements unmogrowp.SKANStore with skan_report.sql.
func (s *Store) SKANReport(ctx context.Context, appID string, from, to time.Time, acceptDevelopment bool) ([]unmogrowp.SKANReportRow, error) {
	if err := unmogrowp.ReportRange(appID, from, to); err != nil {
		return nil, err
	}
	f, t := unmogrowp.MicroRange(from, to)
	var b unmogrowp.SKANReportBuilder
	err := s.each(ctx, "skan_report", func(rows *sql.Rows) error {
		var p unmogrowp.SKANReportPart
		if err := rows.Scan(&p.AdNetworkID, &p.CampaignKey, &p.Seq, &p.ConversionValue, &p.N, &p.Installs,
			&p.Redownloads, &p.NonWinning, &p.Reengagements, &p.NullConversionValues, &p.Low, &p.Medium,
			&p.High, &p.InvalidSignatures); err != nil {
			return err
		}
		b.Add(p)
		return nil
	}, appID, f, t, acceptDevelopment)
	if err != nil {
		return nil, err
	}
	return b.Rows(), nil
}
