package duckdb

import (
	"fmt"
	"strings"

	"github.com/unmogrowp/unmogrowp"
)

// localize replaces each LOCAL(column) of query with its wall-clock time in the zone of
// shifts (unmogrowp.LocalizeQuery): plus one offset for a zone without transitions in
// range, or a CASE over the transitions.
func localize(query string, shifts []unmogrowp.ZoneShift) string {
	return unmogrowp.LocalizeQuery(query, shifts, func(col string, shifts []unmogrowp.ZoneShift) string {
		if len(shifts) == 1 {
			return fmt.Sprintf("(%s + to_microseconds(%d))", col, shifts[0].Offset.Microseconds())
		}
		var b strings.Builder
		fmt.Fprintf(&b, "(%s + to_microseconds(CASE", col)
		for i := 1; i < len(shifts); i++ {
			fmt.Fprintf(&b, " WHEN %s < make_timestamp(%d) THEN %d", col, shifts[i].Start.UnixMicro(), shifts[i-1].Offset.Microseconds())
		}
		fmt.Fprintf(&b, " ELSE %d END))", shifts[len(shifts)-1].Offset.Microseconds())
		return b.String()
	})
}
