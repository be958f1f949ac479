package clickhouse

import (
	"context"
	"math"
	"time"

	chdriver "github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/unmogrowp/unmogrowp"
)

var _ unmogrowp.SKANStore = (*Store)(nil)

// skanColumns are the columns of skan_postbacks (0004_skan.sql) for rows.
func skanColumns(rows []unmogrowp.SKANPostback) *columns {
	c, n := &columns{}, len(rows)
	str := func(name string, get func(p *unmogrowp.SKANPostback) string) {
		add(c, name, n, func(i int) string { return get(&rows[i]) })
	}
	num := func(name string, get func(p *unmogrowp.SKANPostback) int64) {
		add(c, name, n, func(i int) int64 { return get(&rows[i]) })
	}
	add(c, "partition", n, func(i int) int32 { return rows[i].Partition })
	num("offset", func(p *unmogrowp.SKANPostback) int64 { return p.Offset })
	str("id", func(p *unmogrowp.SKANPostback) string { return p.ID })
	str("app_id", func(p *unmogrowp.SKANPostback) string { return p.AppID })
	str("kind", func(p *unmogrowp.SKANPostback) string { return p.Kind })
	add(c, "from_apple", n, func(i int) uint8 { return uint8Of(rows[i].FromApple) })
	str("dedup_key", func(p *unmogrowp.SKANPostback) string { return p.DedupKey() })
	str("version", func(p *unmogrowp.SKANPostback) string { return p.Version })
	str("ad_network_id", func(p *unmogrowp.SKANPostback) string { return p.AdNetworkID })
	str("source_identifier", func(p *unmogrowp.SKANPostback) string { return p.SourceIdentifier })
	num("campaign_id", func(p *unmogrowp.SKANPostback) int64 { return p.CampaignID })
	num("app_store_id", func(p *unmogrowp.SKANPostback) int64 { return p.AppStoreID })
	num("source_app_id", func(p *unmogrowp.SKANPostback) int64 { return p.SourceAppID })
	str("source_domain", func(p *unmogrowp.SKANPostback) string { return p.SourceDomain })
	num("publisher_item_identifier", func(p *unmogrowp.SKANPostback) int64 { return p.PublisherItemIdentifier })
	str("transaction_id", func(p *unmogrowp.SKANPostback) string { return p.TransactionID })
	str("postback_identifier", func(p *unmogrowp.SKANPostback) string { return p.PostbackIdentifier })
	num("postback_sequence_index", func(p *unmogrowp.SKANPostback) int64 { return p.PostbackSequenceIndex })
	num("did_win", func(p *unmogrowp.SKANPostback) int64 { return p.DidWin })
	num("redownload", func(p *unmogrowp.SKANPostback) int64 { return p.Redownload })
	num("fidelity_type", func(p *unmogrowp.SKANPostback) int64 { return p.FidelityType })
	num("conversion_value", func(p *unmogrowp.SKANPostback) int64 { return p.ConversionValue })
	str("coarse_conversion_value", func(p *unmogrowp.SKANPostback) string { return p.CoarseConversionValue })
	str("conversion_type", func(p *unmogrowp.SKANPostback) string { return p.ConversionType })
	str("ad_interaction_type", func(p *unmogrowp.SKANPostback) string { return p.AdInteractionType })
	str("country_code", func(p *unmogrowp.SKANPostback) string { return p.CountryCode })
	str("signature", func(p *unmogrowp.SKANPostback) string { return p.Signature })
	str("environment", func(p *unmogrowp.SKANPostback) string { return p.Environment })
	num("received_at", func(p *unmogrowp.SKANPostback) int64 { return p.ReceivedAt.UnixMicro() })
	return c
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
	limit := uint64(math.MaxInt64)
	if f.Limit > 0 {
		limit = uint64(f.Limit) + 1
	}
	out := []unmogrowp.StoredSKANPostback{}
	err := s.each(ctx, "skan_postbacks", func(rows chdriver.Rows) error {
		var p unmogrowp.StoredSKANPostback
		var received int64
		var apple, mismatch uint8
		if err := rows.Scan(&p.Partition, &p.Offset, &p.ID, &p.AppID, &p.Kind, &apple, &p.Version,
			&p.AdNetworkID, &p.SourceIdentifier, &p.CampaignID, &p.AppStoreID, &p.SourceAppID, &p.SourceDomain,
			&p.PublisherItemIdentifier, &p.TransactionID, &p.PostbackIdentifier, &p.PostbackSequenceIndex,
			&p.DidWin, &p.Redownload, &p.FidelityType, &p.ConversionValue, &p.CoarseConversionValue,
			&p.ConversionType, &p.AdInteractionType, &p.CountryCode, &p.Signature, &p.Environment, &received,
			&mismatch); err != nil {
			return err
		}
		p.FromApple, p.CVMismatch = apple == 1, mismatch == 1
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
	err := s.each(ctx, "skan_report", func(rows chdriver.Rows) error {
		var p unmogrowp.SKANReportPart
		if err := rows.Scan(&p.AdNetworkID, &p.CampaignKey, &p.Seq, &p.ConversionValue, &p.N, &p.Installs,
			&p.Redownloads, &p.NonWinning, &p.Reengagements, &p.NullConversionValues, &p.Low, &p.Medium,
			&p.High, &p.InvalidSignatures); err != nil {
			return err
		}
		b.Add(p)
		return nil
	}, appID, f, t, uint8Of(acceptDevelopment))
	if err != nil {
		return nil, err
	}
	return b.Rows(), nil
}
