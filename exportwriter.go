package unmogrowp

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"io"
	"math"
	"strconv"
	"time"
)

// Formats of the raw export.
const (
	ExportCSV    = "csv"    // RFC 4180 with a header row; nested values as JSON text in a cell
	ExportNDJSON = "ndjson" // one JSON object per line, the fields in their order
)

// ExportWriter writes an export's rows in one of the formats: CSV (RFC 4180: a header row,
// quotes around values that hold a comma, a quote or a line break, quotes doubled; records
// end with LF, as encoding/csv writes by default, since its CRLF mode drops a lone CR
// inside a value) or NDJSON (one JSON object per line). Times are RFC 3339 in the writer's
// location, "" when absent; an absent revenue is empty in CSV and null in NDJSON; a nested
// value (ExportJSON) is its JSON text in a CSV cell and JSON in NDJSON (null when absent).
// It buffers: call Flush to push what it holds to the underlying writer.
type ExportWriter struct {
	format string
	names  []string // the selected fields' names
	sel    []int
	loc    *time.Location

	csv    *csv.Writer
	record []string

	buf  *bufio.Writer
	line []byte
	keys [][]byte // `"name":` of each selected field, with the comma before all but the first
}

// NewExportWriter returns a writer of the fields sel (positions in fields) of rows, in
// format (ExportCSV or ExportNDJSON), times in loc. It returns an *Error with code
// EINVALID for another format.
func NewExportWriter(w io.Writer, format string, fields []string, sel []int, loc *time.Location) (*ExportWriter, error) {
	ew := &ExportWriter{format: format, sel: sel, loc: loc}
	for _, i := range sel {
		ew.names = append(ew.names, fields[i])
	}
	switch format {
	case ExportCSV:
		ew.csv = csv.NewWriter(w)
		ew.record = make([]string, len(sel))
	case ExportNDJSON:
		ew.buf = bufio.NewWriterSize(w, 64<<10)
		for k, n := range ew.names {
			key := []byte{}
			if k > 0 {
				key = append(key, ',')
			}
			key = appendJSONString(key, n)
			ew.keys = append(ew.keys, append(key, ':'))
		}
	default:
		return nil, Errorf(EINVALID, "format must be csv or ndjson.")
	}
	return ew, nil
}

// ContentType is the media type of the writer's format.
func (ew *ExportWriter) ContentType() string {
	if ew.format == ExportCSV {
		return "text/csv; charset=utf-8"
	}
	return "application/x-ndjson"
}

// WriteHeader writes the CSV header row, the fields' names; NDJSON has none.
func (ew *ExportWriter) WriteHeader() error {
	if ew.csv != nil {
		return ew.csv.Write(ew.names)
	}
	return nil
}

// WriteRow writes one row: row holds every field's value, of which the writer takes the
// selected ones.
func (ew *ExportWriter) WriteRow(row []ExportValue) error {
	if ew.csv != nil {
		for k, i := range ew.sel {
			ew.record[k] = ew.text(&row[i])
		}
		return ew.csv.Write(ew.record)
	}
	b := append(ew.line[:0], '{')
	for k, i := range ew.sel {
		b = append(b, ew.keys[k]...)
		b = ew.appendJSON(b, &row[i])
	}
	b = append(b, '}', '\n')
	ew.line = b
	_, err := ew.buf.Write(b)
	return err
}

// Flush writes what the writer buffers to the underlying writer.
func (ew *ExportWriter) Flush() error {
	if ew.csv != nil {
		ew.csv.Flush()
		return ew.csv.Error()
	}
	return ew.buf.Flush()
}

// text is v as a CSV cell.
func (ew *ExportWriter) text(v *ExportValue) string {
	switch v.Kind {
	case ExportTime:
		if v.Time.IsZero() {
			return ""
		}
		return v.Time.In(ew.loc).Format(time.RFC3339Nano)
	case ExportInt:
		return strconv.FormatInt(v.Int, 10)
	case ExportFloat:
		if !v.Bool {
			return ""
		}
		return strconv.FormatFloat(v.Num, 'g', -1, 64)
	case ExportBool:
		return strconv.FormatBool(v.Bool)
	}
	return v.Str
}

// appendJSON appends v as a JSON value.
func (ew *ExportWriter) appendJSON(b []byte, v *ExportValue) []byte {
	switch v.Kind {
	case ExportTime:
		if v.Time.IsZero() {
			return append(b, `""`...)
		}
		b = append(b, '"')
		b = v.Time.In(ew.loc).AppendFormat(b, time.RFC3339Nano)
		return append(b, '"')
	case ExportInt:
		return strconv.AppendInt(b, v.Int, 10)
	case ExportFloat:
		if !v.Bool || math.IsNaN(v.Num) || math.IsInf(v.Num, 0) {
			return append(b, "null"...) // JSON has no NaN nor infinities, which a store may hold
		}
		return strconv.AppendFloat(b, v.Num, 'g', -1, 64)
	case ExportBool:
		return strconv.AppendBool(b, v.Bool)
	case ExportJSON:
		switch {
		case v.Str == "":
			return append(b, "null"...)
		case json.Valid([]byte(v.Str)):
			return append(b, v.Str...)
		}
		// Not JSON (no store should hold that): the text as a string, so the line stays JSON.
	}
	return appendJSONString(b, v.Str)
}

// appendJSONString appends s as a JSON string. Plain printable ASCII is copied between
// quotes; anything else goes through encoding/json, which escapes it and replaces invalid
// UTF-8.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
