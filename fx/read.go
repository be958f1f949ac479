package fx

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// Read reads the rates of a file that `unmogrowp fx import` takes, telling the format by
// its first byte that is not white space: '{' begins JSON lines (ReadJSONLines), anything
// else the ECB's CSV (ReadECB). Returns an EINVALID *Error naming the line of the first
// problem.
func Read(r io.Reader) ([]unmogrowp.FXRates, error) {
	br := bufio.NewReader(r)
	for {
		b, err := br.Peek(1)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "The file is empty.")
			}
			return nil, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			br.ReadByte()
			continue
		case '{':
			return ReadJSONLines(br)
		}
		return ReadECB(br)
	}
}

// ReadECB reads the European Central Bank's historical reference rates
// (eurofxref-hist.csv): a header "Date,USD,JPY,..." and one line per date, each rate in
// units of the currency per euro, "N/A" (or nothing) where the currency has no rate that
// date. Each date becomes one FXRates with base EUR; a date with no rate at all is left
// out. Returns an EINVALID *Error naming the line (the header is line 1) and the column of
// the first value it cannot read.
func ReadECB(r io.Reader) ([]unmogrowp.FXRates, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, csvError(err, "The ECB file has no header line.")
	}
	cols := make([]string, len(header))
	for i, h := range header {
		h = strings.TrimSpace(h)
		if i == 0 {
			if !strings.EqualFold(h, "Date") {
				return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "line 1: the first column must be Date.")
			}
			continue
		}
		if h == "" { // the ECB's lines end with a comma
			continue
		}
		c, err := unmogrowp.ValidCurrency(h)
		if err != nil {
			return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "line 1, column %d: %q is not an ISO 4217 currency code.", i+1, h)
		}
		cols[i] = c
	}
	var out []unmogrowp.FXRates
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, csvError(err, "")
		}
		line, _ := cr.FieldPos(0)
		date := strings.TrimSpace(rec[0])
		if _, err := time.Parse(time.DateOnly, date); err != nil {
			return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "line %d, column Date: %q is not a date, YYYY-MM-DD.", line, rec[0])
		}
		if len(rec) > len(cols) {
			for _, v := range rec[len(cols):] {
				if strings.TrimSpace(v) != "" {
					return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "line %d: more values than the header has columns.", line)
				}
			}
		}
		rates := unmogrowp.FXRates{Date: date, Base: "EUR", Rates: map[string]float64{}}
		for i, v := range rec[1:min(len(rec), len(cols))] {
			c := cols[i+1]
			v = strings.TrimSpace(v)
			if c == "" || v == "" || v == "N/A" {
				continue
			}
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || !(f > 0) || f > 1e15 {
				return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "line %d, column %s: %q is not a rate above 0.", line, c, v)
			}
			rates.Rates[c] = f
		}
		if len(rates.Rates) > 0 {
			out = append(out, rates)
		}
	}
}

// csvError turns a CSV reader's error into an EINVALID *Error naming its line; io.EOF
// becomes empty (when not "").
func csvError(err error, empty string) error {
	var pe *csv.ParseError
	switch {
	case errors.Is(err, io.EOF) && empty != "":
		return unmogrowp.Errorf(unmogrowp.EINVALID, "%s", empty)
	case errors.As(err, &pe):
		return unmogrowp.Errorf(unmogrowp.EINVALID, "line %d: %v.", pe.Line, pe.Err)
	}
	return err
}

// maxJSONLine is the longest line ReadJSONLines takes: a date's rates for every currency
// there is fit in a few kilobytes.
const maxJSONLine = 1 << 20

// ReadJSONLines reads one FXRates object per line, as PUT /api/fx-rates takes it
// ({"date","base","rates"}); blank lines are skipped. Each is validated
// (FXRates.Validate). Returns an EINVALID *Error naming the line of the first that is
// not valid.
func ReadJSONLines(r io.Reader) ([]unmogrowp.FXRates, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), maxJSONLine)
	var out []unmogrowp.FXRates
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		rates, err := DecodeRates(b)
		if err != nil {
			return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "line %d: %s", line, unmogrowp.ErrorMessage(err))
		}
		out = append(out, *rates)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "A line is longer than %d bytes.", maxJSONLine)
		}
		return nil, err
	}
	return out, nil
}

// DecodeRates decodes and validates one FXRates object (the body of PUT /api/fx-rates):
// unknown fields and trailing data are refused. Returns an EINVALID *Error saying what is
// wrong.
func DecodeRates(b []byte) (*unmogrowp.FXRates, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r unmogrowp.FXRates
	if err := dec.Decode(&r); err != nil {
		return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "The rates are not valid JSON of {\"date\",\"base\",\"rates\"}: %s.", jsonReason(err))
	}
	if dec.More() {
		return nil, unmogrowp.Errorf(unmogrowp.EINVALID, "The rates are followed by more data.")
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

// jsonReason says briefly why JSON did not decode.
func jsonReason(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("%s has the wrong type", te.Field)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}
