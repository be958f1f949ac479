package api

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/httpserve"
)

// decodeCosts decodes the body of POST /api/apps/{app_id}/costs: CSV (decodeCostCSV) for
// a text/csv (or application/csv) content type, JSON (decodeCostJSON) for
// application/json. Every row is checked (unmogrowp.Cost.Check). The error is EINVALID and
// names where the request is wrong: the line and column of a CSV file, the index and key
// of a JSON one; ETOOLARGE for more than unmogrowp.MaxCostRows rows.
func decodeCosts(contentType string, body []byte) ([]unmogrowp.Cost, error) {
	mediaType, _, err := mime.ParseMediaType(contentType)
	switch {
	case err != nil && contentType != "":
		return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "Content-Type is not a media type: send text/csv or application/json.")
	case mediaType == "text/csv" || mediaType == "application/csv":
		return decodeCostCSV(body)
	case mediaType == "application/json":
		return decodeCostJSON(body)
	}
	return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "Content-Type must be text/csv or application/json.")
}

// requiredCostColumns are the columns a cost file must have.
var requiredCostColumns = []string{"date", "media_source", "cost", "currency"}

// decodeCostCSV decodes a cost CSV file (RFC 4180, as encoding/csv reads it): a header of
// column names (unmogrowp.CostColumns, in any order, any case; date, media_source, cost and
// currency required), then one row per line. A UTF-8 byte order mark is skipped, cells
// are trimmed of spaces, blank lines skipped; an empty campaign, adset, ad or country is
// "", an empty impressions or clicks 0. Errors name the line (the header is line 1) and
// the column.
func decodeCostCSV(body []byte) ([]unmogrowp.Cost, error) {
	body = bytes.TrimPrefix(body, []byte("\ufeff"))
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = -1 // checked here, to say which line
	r.ReuseRecord = true
	header, err := r.Read()
	if err == io.EOF {
		return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "Line 1: the file is empty; it needs a header (%s).", strings.Join(unmogrowp.CostColumns, ","))
	}
	if err != nil {
		return nil, csvError(err)
	}
	cols := make([]string, len(header))
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		switch {
		case !slices.Contains(unmogrowp.CostColumns, h):
			return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "Line 1, column %d: unknown column %q; the columns are %s.", i+1, truncateText(h, 64), strings.Join(unmogrowp.CostColumns, ", "))
		case slices.Contains(cols[:i], h):
			return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "Line 1, column %d: column %s is there twice.", i+1, h)
		}
		cols[i] = h
	}
	for _, req := range requiredCostColumns {
		if !slices.Contains(cols, req) {
			return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "Line 1: column %s is required.", req)
		}
	}
	costs := []unmogrowp.Cost{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return costs, nil
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) != len(cols) {
			return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "Line %d: %d cells, but the header names %d columns.", line, len(rec), len(cols))
		}
		if len(costs) == unmogrowp.MaxCostRows {
			return nil, tooManyCosts()
		}
		var c unmogrowp.Cost
		for i, v := range rec {
			if err := setCostCell(&c, cols[i], strings.TrimSpace(v)); err != nil {
				return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "Line %d, column %s: %s", line, cols[i], unmogrowp.ErrorMessage(err))
			}
		}
		if col, err := c.Check(); err != nil {
			return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "Line %d, column %s: %s", line, col, unmogrowp.ErrorMessage(err))
		}
		costs = append(costs, c)
	}
}

// csvError is the EINVALID error of a file encoding/csv cannot read, naming the line.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "Line %d is not valid CSV: %v.", pe.Line, pe.Err)
	}
	return unmogrowp.Errorf(unmogrowp.EINVALID, "The file is not valid CSV.")
}

// setCostCell sets the column of c to a CSV cell's text; only numbers are checked here,
// the rest by Cost.Check.
func setCostCell(c *unmogrowp.Cost, column, v string) error {
	switch column {
	case "date":
		c.Date = v
	case "media_source":
		c.MediaSource = v
	case "campaign":
		c.Campaign = v
	case "adset":
		c.Adset = v
	case "ad":
		c.Ad = v
	case "country":
		c.Country = v
	case "currency":
		c.Currency = v
	case "cost":
		if v == "" {
			return unmogrowp.Errorf(unmogrowp.EINVALID, "cost is required.")
		}
		f, err := unmogrowp.ParseCostValue("cost", v)
		if err != nil {
			return err
		}
		c.Cost = f
	case "impressions", "clicks":
		var n int64
		if v != "" {
			var err error
			if n, err = strconv.ParseInt(v, 10, 64); err != nil || n < 0 {
				return unmogrowp.Errorf(unmogrowp.EINVALID, "%s must be a whole number, 0 or more.", column)
			}
		}
		if column == "impressions" {
			c.Impressions = n
		} else {
			c.Clicks = n
		}
	}
	return nil
}

// wireCost is a row of a JSON cost body. Cost is a pointer: it is required, and 0 is a
// cost.
type wireCost struct {
	Date        string   `json:"date"`
	MediaSource string   `json:"media_source"`
	Campaign    string   `json:"campaign"`
	Adset       string   `json:"adset"`
	Ad          string   `json:"ad"`
	Country     string   `json:"country"`
	Cost        *float64 `json:"cost"`
	Currency    string   `json:"currency"`
	Impressions int64    `json:"impressions"`
	Clicks      int64    `json:"clicks"`
}

// decodeCostJSON decodes a JSON cost body, {"costs":[{...}, ...]}, each row an object
// with the keys of unmogrowp.CostColumns (cost a number; impressions and clicks whole
// numbers; others strings; unknown keys refused). Errors name the row by its index in
// costs, and the key.
func decodeCostJSON(body []byte) ([]unmogrowp.Cost, error) {
	body = bytes.TrimSpace(body)
	var top struct {
		Costs *[]json.RawMessage `json:"costs"`
	}
	if len(body) == 0 || body[0] != '{' {
		return nil, unmogrowp.Errorf(unmogrowp.EINVALID, `The body must be a JSON object {"costs":[...]}.`)
	}
	if err := json.Unmarshal(body, &top); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "costs must be a JSON array.")
		}
		return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "Body is not valid JSON.")
	}
	if err := httpserve.CheckJSONText(body, "The body", nil); err != nil {
		return nil, err
	}
	if top.Costs == nil {
		return nil, unmogrowp.Errorf(unmogrowp.EINVALID, `The body must be a JSON object {"costs":[...]}.`)
	}
	if len(*top.Costs) > unmogrowp.MaxCostRows {
		return nil, tooManyCosts()
	}
	costs := make([]unmogrowp.Cost, 0, len(*top.Costs))
	for i, raw := range *top.Costs {
		at := func(column string, err error) error {
			return unmogrowp.Errorf(unmogrowp.EINVALID, "costs[%d], column %s: %s", i, column, unmogrowp.ErrorMessage(err))
		}
		var w wireCost
		d := json.NewDecoder(bytes.NewReader(raw))
		d.DisallowUnknownFields()
		if err := d.Decode(&w); err != nil {
			var te *json.UnmarshalTypeError
			switch {
			case errors.As(err, &te) && te.Field != "":
				return nil, at(te.Field, unmogrowp.Errorf(unmogrowp.EINVALID, "%s has the wrong type.", te.Field))
			case errors.As(err, &te):
				return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "costs[%d] must be a JSON object.", i)
			case strings.HasPrefix(err.Error(), "json: unknown field "):
				key := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
				return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "costs[%d]: unknown key %q; the keys are %s.", i, truncateText(key, 64), strings.Join(unmogrowp.CostColumns, ", "))
			}
			return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "costs[%d] is not valid JSON.", i)
		}
		if w.Cost == nil {
			return nil, at("cost", unmogrowp.Errorf(unmogrowp.EINVALID, "cost is required."))
		}
		c := unmogrowp.Cost{
			Date: w.Date, MediaSource: w.MediaSource, Campaign: w.Campaign, Adset: w.Adset, Ad: w.Ad,
			Country: w.Country, Cost: *w.Cost, Currency: w.Currency, Impressions: w.Impressions, Clicks: w.Clicks,
		}
		if col, err := c.Check(); err != nil {
			return nil, at(col, err)
		}
		costs = append(costs, c)
	}
	return costs, nil
}

func tooManyCosts() error {
	return unmogrowp.Errorf(unmogrowp.ETOOLARGE, "A request holds at most %d cost rows; send the rest in another.", unmogrowp.MaxCostRows)
}

// truncateText cuts s to at most n bytes, on a rune boundary, for quoting in a message.
func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
