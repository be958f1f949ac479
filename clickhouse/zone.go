package clickhouse

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/unmogrowp/unmogrowp"
)

// localCall is how a report query asks for a time column (Unix microseconds) in the
// report's zone: LOCAL(column), which localize replaces before the query runs.
var localCall = regexp.MustCompile(`LOCAL\(([a-z_."]+)\)`)

// localize replaces each LOCAL(column) of query with the column's wall-clock time in the
// zone of shifts (unmogrowp.ZoneShifts, which must cover every time the query reads), in
// Unix microseconds: the column itself in UTC, plus one offset for a zone without
// transitions in range, or a multiIf over the transitions. The offsets come from Go's time
// zone database, not the server's, so that every store agrees. The SQL holds only numbers
// the code made, no input.
func localize(query string, shifts []unmogrowp.ZoneShift) string {
	if !strings.Contains(query, "LOCAL(") {
		return query
	}
	return localCall.ReplaceAllStringFunc(query, func(call string) string {
		col := localCall.FindStringSubmatch(call)[1]
		switch {
		case len(shifts) == 0 || len(shifts) == 1 && shifts[0].Offset == 0:
			return col
		case len(shifts) == 1:
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
