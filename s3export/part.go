package s3export

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"slices"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/unmogrowp/unmogrowp"
)

// Part is one object of a period written to a local file first: its rows, size and
// SHA-256, which the _SUCCESS manifest lists, then uploaded whole.
type Part struct {
	Name   string // part-00000.<ext>
	Path   string // the local file
	Rows   int64
	Bytes  int64
	SHA256 string // hex
}

// partWriter writes a report's rows into one part in a format.
type partWriter interface {
	WriteRow(row []unmogrowp.ExportValue) error
	Close() error // flushes everything to the file
}

// countingHash counts and hashes what goes through it to the file.
type countingHash struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (c *countingHash) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

// newPart creates a part file in dir for report in format and returns it with the writer
// of its rows. The caller calls finish once every row is written, and removes Path.
func newPart(dir, report, format string) (*Part, partWriter, func() error, error) {
	f, err := os.CreateTemp(dir, "unmogrowp-export-*")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("create part file: %w", err)
	}
	p := &Part{Name: "part-00000." + format, Path: f.Name()}
	ch := &countingHash{w: f, h: sha256.New()}
	var pw partWriter
	switch format {
	case unmogrowp.FileParquet:
		pw = newParquetPart(ch, report)
	default:
		pw, err = newTextPart(ch, report, format)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, nil, nil, err
	}
	finish := func() error {
		err := pw.Close()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		p.Bytes, p.SHA256 = ch.n, hex.EncodeToString(ch.h.Sum(nil))
		return err
	}
	return p, pw, finish, nil
}

// textPart is CSV or NDJSON, as the pulled export writes them (times in UTC), gzipped. Go's
// gzip writes no time nor name in its header, so the same rows give the same bytes.
type textPart struct {
	gz *gzip.Writer
	ew *unmogrowp.ExportWriter
}

func newTextPart(w io.Writer, report, format string) (*textPart, error) {
	fields := unmogrowp.ExportFields[report]
	sel, _ := unmogrowp.ExportSelect(report, nil)
	text := unmogrowp.ExportCSV
	if format == unmogrowp.FileNDJSONGzip {
		text = unmogrowp.ExportNDJSON
	}
	gz := gzip.NewWriter(w)
	ew, err := unmogrowp.NewExportWriter(gz, text, fields, sel, time.UTC)
	if err != nil {
		return nil, err
	}
	if err := ew.WriteHeader(); err != nil {
		return nil, err
	}
	return &textPart{gz: gz, ew: ew}, nil
}

func (t *textPart) WriteRow(row []unmogrowp.ExportValue) error { return t.ew.WriteRow(row) }

func (t *textPart) Close() error {
	if err := t.ew.Flush(); err != nil {
		return err
	}
	return t.gz.Close()
}

// parquetRowGroupRows bounds the rows a Parquet part holds in memory before it writes them
// out as a row group.
const parquetRowGroupRows = 50_000

// parquetPart is Apache Parquet with one column per field, in the fields' order: strings as
// UTF-8 strings, times as TIMESTAMP(MICROS, UTC), integers as INT64, revenue as DOUBLE,
// booleans as BOOLEAN, nested values as JSON; an absent time, revenue or nested value is
// null. Snappy-compressed.
type parquetPart struct {
	w     *parquet.GenericWriter[any]
	b     *parquet.RowBuilder
	kinds []unmogrowp.ExportKind
	rows  []parquet.Row
}

// orderedGroup is a Parquet group whose columns keep the fields' order (parquet.Group sorts
// them by name).
type orderedGroup struct {
	parquet.Group
	order []string
}

// Fields implements parquet.Node.
func (g orderedGroup) Fields() []parquet.Field {
	fields := slices.Clone(g.Group.Fields())
	slices.SortStableFunc(fields, func(a, b parquet.Field) int {
		return slices.Index(g.order, a.Name()) - slices.Index(g.order, b.Name())
	})
	return fields
}

// parquetSchema is the schema of report's Parquet parts.
func parquetSchema(report string) (*parquet.Schema, []unmogrowp.ExportKind) {
	names := unmogrowp.ExportFields[report]
	g := parquet.Group{}
	kinds := make([]unmogrowp.ExportKind, len(names))
	for i, n := range names {
		kinds[i] = unmogrowp.ExportKindOf(report, n)
		var node parquet.Node
		switch kinds[i] {
		case unmogrowp.ExportTime:
			node = parquet.Optional(parquet.TimestampAdjusted(parquet.Microsecond, true))
		case unmogrowp.ExportInt:
			node = parquet.Int(64)
		case unmogrowp.ExportFloat:
			node = parquet.Optional(parquet.Leaf(parquet.DoubleType))
		case unmogrowp.ExportBool:
			node = parquet.Leaf(parquet.BooleanType)
		case unmogrowp.ExportJSON:
			node = parquet.Optional(parquet.JSON())
		default:
			node = parquet.String()
		}
		g[n] = parquet.Compressed(node, &parquet.Snappy)
	}
	return parquet.NewSchema(report, orderedGroup{Group: g, order: names}), kinds
}

func newParquetPart(w io.Writer, report string) *parquetPart {
	schema, kinds := parquetSchema(report)
	return &parquetPart{
		w:     parquet.NewGenericWriter[any](w, schema, parquet.MaxRowsPerRowGroup(parquetRowGroupRows), parquet.CreatedBy("unmogrowp", "", "")),
		b:     parquet.NewRowBuilder(schema),
		kinds: kinds,
	}
}

func (p *parquetPart) WriteRow(row []unmogrowp.ExportValue) error {
	p.b.Reset()
	for i := range row {
		v := &row[i]
		switch p.kinds[i] {
		case unmogrowp.ExportTime:
			if !v.Time.IsZero() {
				p.b.Add(i, parquet.Int64Value(v.Time.UnixMicro()))
			}
		case unmogrowp.ExportInt:
			p.b.Add(i, parquet.Int64Value(v.Int))
		case unmogrowp.ExportFloat:
			if v.Bool {
				p.b.Add(i, parquet.DoubleValue(v.Num))
			}
		case unmogrowp.ExportBool:
			p.b.Add(i, parquet.BooleanValue(v.Bool))
		case unmogrowp.ExportJSON:
			if v.Str != "" {
				p.b.Add(i, parquet.ByteArrayValue([]byte(v.Str)))
			}
		default:
			p.b.Add(i, parquet.ByteArrayValue([]byte(v.Str)))
		}
	}
	p.rows = append(p.rows, p.b.Row())
	if len(p.rows) == 1024 {
		return p.flushRows()
	}
	return nil
}

func (p *parquetPart) flushRows() error {
	_, err := p.w.WriteRows(p.rows)
	p.rows = p.rows[:0]
	return err
}

func (p *parquetPart) Close() error {
	if err := p.flushRows(); err != nil {
		return err
	}
	return p.w.Close()
}
