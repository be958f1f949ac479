package api

import (
	"strings"
	"testing"

	"github.com/unmogrowp/unmogrowp"
)

// FuzzDecodeCosts feeds the cost decoder any body as CSV and as JSON: it never panics,
// refuses with EINVALID (or ETOOLARGE) only, and every row it accepts is valid as the
// store takes it (Cost.Check passes again, unchanged).
func FuzzDecodeCosts(f *testing.F) {
	for _, s := range []string{
		"date,media_source,cost,currency\n2026-03-02,fb,1.5,usd\n",
		"\ufeffDATE,Media_Source,cost,currency,campaign,adset,ad,country,impressions,clicks\n2026-03-02,fb,0,EUR,\"a,\"\"b\"\"\",s,ad,DE,10,2\n\n2026-03-03,gg,1e3,JPY,,,,,,\n",
		"date,media_source,cost,currency\n2026-02-30,fb,-1,US\n",
		"date,cost\n", "a\"b\n", "",
		`{"costs":[{"date":"2026-03-02","media_source":"fb","cost":1,"currency":"USD","clicks":3}]}`,
		`{"costs":[{"date":"2026-03-02","media_source":"fb","currency":"USD"},7,{"spend":1}]}`,
		`{"costs":{}}`, `[1]`, `{"costs":[{"date":"\ud800"}]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, ct := range []string{"text/csv", "application/json"} {
			costs, err := decodeCosts(ct, []byte(body))
			if err != nil {
				if c := unmogrowp.ErrorCode(err); c != unmogrowp.EINVALID && c != unmogrowp.ETOOLARGE {
					t.Fatalf("%s: error code %q: %v", ct, c, err)
				}
				if ct == "text/csv" && !strings.HasPrefix(unmogrowp.ErrorMessage(err), "Line ") && !strings.HasPrefix(unmogrowp.ErrorMessage(err), "The file") {
					t.Fatalf("a CSV error that names no line: %v", err)
				}
				continue
			}
			for i, c := range costs {
				again := c
				if col, err := again.Check(); err != nil || again != c {
					t.Fatalf("%s: row %d accepted but not valid: %+v (%s: %v)", ct, i, c, col, err)
				}
			}
		}
	})
}
