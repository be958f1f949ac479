package clickhouse

import (
	"fmt"
	"strings"

	"github.com/unmogrowp/unmogrowp"
)

// localize replaces each LOCAL(column) of query (a time column, Unix microseconds) with
// its wall-clock time in the zone of shifts (unmogrowp.LocalizeQuery): plus one offset
// for a zone without transitions in range, or a multiIf over the transitions. The offsets
// come from Go's time zone database, not the server's, so that every store agrees.
func localize(query string, shifts []unmogrowp.ZoneShift) string {
	return unmogrowp.LocalizeQuery(query, shifts, func(col string, shifts []unmogrowp.ZoneShift) string {
		if len(shifts) == 1 {
			return fmt.Sprintf("(%s + toInt64(%d))", col, shifts[0].Offset.Microseconds())
		}
		var b strings.Builder
		fmt.Fprintf(&b, "(%s + multiIf(", col)
		for i := 1; i < len(shifts); i++ {
			fmt.Fprintf(&b, "%s < %d, toInt64(%d), ", col, shifts[i].Start.UnixMicro(), shifts[i-1].Offset.Microseconds())
		}
		fmt.Fprintf(&b, "toInt64(%d)))", shifts[len(shifts)-1].Offset.Microseconds())
		return b.String()
	})
}
