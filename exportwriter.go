package unmogrowp

import (
	"bufio"
	"encoding/json"
	"io"
	"math"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
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
//
// The CSV is the bytes encoding/csv's Writer writes (with its default Comma and UseCRLF
// false), built by appending each value to a reused line rather than through a string per
// cell (appendCSVField; a test compares the two on every kind of value).
type ExportWriter struct {
	format string
	names  []string // the selected fields' names
	sel    []int
	loc    *time.Location

	buf   *bufio.Writer
	line  []byte
	cell  []byte   // the CSV text of one value, before it is quoted
	keys  [][]byte // NDJSON: `"name":` of each selected field, with the comma before all but the first
	isCSV bool
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
		ew.buf = bufio.NewWriterSize(w, 64<<10)
		ew.isCSV = true
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
	if !ew.isCSV {
		return nil
	}
	b := ew.line[:0]
	for k, n := range ew.names {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendCSVField(b, n)
	}
	b = append(b, '\n')
	ew.line = b
	_, err := ew.buf.Write(b)
	return err
}

// WriteRow writes one row: row holds every field's value, of which the writer takes the
// selected ones.
func (ew *ExportWriter) WriteRow(row []ExportValue) error {
	if ew.isCSV {
		b := ew.line[:0]
		for k, i := range ew.sel {
			if k > 0 {
				b = append(b, ',')
			}
			if v := &row[i]; v.Kind == ExportString || v.Kind == ExportJSON {
				b = appendCSVField(b, v.Str)
			} else {
				ew.cell = ew.appendText(ew.cell[:0], v)
				b = append(b, ew.cell...) // times, numbers, booleans never need quotes
			}
		}
		b = append(b, '\n')
		ew.line = b
		_, err := ew.buf.Write(b)
		return err
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
	return ew.buf.Flush()
}

// appendText appends v's text, as a CSV cell holds it before quoting: times RFC 3339 in
// the writer's location ("" when absent), numbers as strconv formats them ("" for an
// absent revenue), booleans true or false, strings and JSON as they are.
func (ew *ExportWriter) appendText(b []byte, v *ExportValue) []byte {
	switch v.Kind {
	case ExportTime:
		if v.Time.IsZero() {
			return b
		}
		return v.Time.In(ew.loc).AppendFormat(b, time.RFC3339Nano)
	case ExportInt:
		return strconv.AppendInt(b, v.Int, 10)
	case ExportFloat:
		if !v.Bool {
			return b
		}
		return strconv.AppendFloat(b, v.Num, 'g', -1, 64)
	case ExportBool:
		return strconv.AppendBool(b, v.Bool)
	}
	return append(b, v.Str...)
}

// appendCSVField appends f as encoding/csv's Writer writes a field (Comma ',', UseCRLF
// false): between quotes, its quotes doubled, when it holds a comma, a quote, a CR or an LF,
// is `\.`, or begins with a white-space rune; as it is otherwise.
func appendCSVField[S string | []byte](b []byte, f S) []byte {
	if !csvNeedsQuotes(f) {
		return append(b, f...)
	}
	b = append(b, '"')
	for i := 0; i < len(f); i++ {
		if f[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, f[i])
	}
	return append(b, '"')
}

// csvNeedsQuotes is encoding/csv's fieldNeedsQuotes for Comma ','.
func csvNeedsQuotes[S string | []byte](f S) bool {
	if len(f) == 0 {
		return false
	}
	if len(f) == 2 && f[0] == '\\' && f[1] == '.' {
		return true
	}
	for i := 0; i < len(f); i++ {
		if c := f[i]; c == '\n' || c == '\r' || c == '"' || c == ',' {
			return true
		}
	}
	if f[0] < utf8.RuneSelf {
		return f[0] == ' ' || f[0] == '\t' || f[0] == '\v' || f[0] == '\f' // \n and \r returned above
	}
	r, _ := utf8.DecodeRuneInString(string(f[:min(len(f), utf8.UTFMax)]))
	return unicode.IsSpace(r)
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
