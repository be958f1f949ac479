package clickhouse

import (
	"context"
	"time"

	chdriver "github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/unmogrowp/unmogrowp"
)

// TouchpointCosts implements unmogrowp.Reports: touchpoint_costs.sql, by day of the
// scope's zone.
func (s *Store) TouchpointCosts(ctx context.Context, appID string, from, to time.Time, scopes ...unmogrowp.ReportScope) ([]unmogrowp.DailyCost, error) {
	args, err := rangeArgs(appID, from, to)
	if err != nil {
		return nil, err
	}
	sc := unmogrowp.Scope(scopes...)
	out := []unmogrowp.DailyCost{}
	err = s.eachIn(ctx, "touchpoint_costs", sc.Shifts(from, to), func(rows chdriver.Rows) error {
		var c unmogrowp.DailyCost
		if err := rows.Scan(&c.Date, &c.MediaSource, &c.Campaign, &c.Currency, &c.Amount); err != nil {
			return err
		}
		c.Amount = unmogrowp.RoundMoney(c.Amount)
		out = append(out, c)
		return nil
	}, args...)
	if err != nil {
		return nil, err
	}
	return out, nil
}
