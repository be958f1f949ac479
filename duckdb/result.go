package duckdb

import (
	"database/sql"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/duckdb/duckdb-go/v2/mapping"
)

// readResult reads a materialized result (queryPatiently's) chunk by chunk, as Rows.Scan
// would: each row's values go into dest, one per column, and each is called. It reads the
// chunks' vectors in place (the C API's public layouts), where duckdb-go's rows box every
// value in a driver.Value and Scan converts it again (the export's figures are in
// docs/performance-export.md).
//
// The destinations it takes, by column type: *string (VARCHAR), *time.Time and
// *sql.NullTime (TIMESTAMP, in UTC), *sql.NullFloat64 (DOUBLE), *bool (BOOLEAN), *int64
// (BIGINT or INTEGER). A NULL in a column whose destination cannot hold one is an error,
// as Scan makes it. The strings are copies in Go memory (one allocation per chunk for all
// of a chunk's text), so they may be kept after each returns.
func readResult(res *mapping.Result, dest []any, each func() error) error {
	n := int(mapping.ColumnCount(res))
	if n != len(dest) {
		return fmt.Errorf("read result: %d columns for %d destinations", n, len(dest))
	}
	cols := make([]resultColumn, n)
	for i := range cols {
		c := &cols[i]
		c.typ = mapping.ColumnType(res, mapping.IdxT(i))
		c.dest = dest[i]
		if !c.takes() {
			return fmt.Errorf("read result: column %d (%s) of type %d into a %T", i, mapping.ColumnName(res, mapping.IdxT(i)), c.typ, c.dest)
		}
	}
	for {
		chunk := mapping.FetchChunk(*res)
		if chunk.Ptr == nil {
			return nil // the end, or an error that left no chunk: the result was complete
		}
		err := readChunk(chunk, cols, each)
		mapping.DestroyDataChunk(&chunk)
		if err != nil {
			return err
		}
	}
}

// resultColumn is one column of a result and its scan destination; data and valid are its
// vector's in the chunk being read (valid is nil when the chunk has no NULL in it).
type resultColumn struct {
	typ         mapping.Type
	dest        any
	data, valid unsafe.Pointer
}

// takes reports whether the column's type goes into its destination.
func (c *resultColumn) takes() bool {
	switch c.dest.(type) {
	case *string:
		return c.typ == mapping.TypeVarchar
	case *time.Time, *sql.NullTime:
		return c.typ == mapping.TypeTimestamp
	case *sql.NullFloat64:
		return c.typ == mapping.TypeDouble
	case *bool:
		return c.typ == mapping.TypeBoolean
	case *int64:
		return c.typ == mapping.TypeBigInt || c.typ == mapping.TypeInteger
	}
	return false
}

// stringT is the layout of a duckdb_string_t (duckdb.h): the length, then up to
// stringInline bytes in place, or else the first 4 bytes and a pointer to all of them.
type stringT struct {
	length uint32
	prefix [4]byte
	ptr    *byte
}

// readChunk reads the rows of one chunk into the columns' destinations and calls each
// after every row.
func readChunk(chunk mapping.DataChunk, cols []resultColumn, each func() error) error {
	size := int(mapping.DataChunkGetSize(chunk))
	text := 0
	for i := range cols {
		c := &cols[i]
		v := mapping.DataChunkGetVector(chunk, mapping.IdxT(i))
		c.data = mapping.VectorGetData(v)
		c.valid = mapping.VectorGetValidity(v)
		if c.typ == mapping.TypeVarchar {
			s := unsafe.Slice((*stringT)(c.data), size)
			for r := range s {
				text += int(s[r].length)
			}
		}
	}
	// All the chunk's strings are copied into one Go allocation, and the destinations'
	// strings are slices of it: DuckDB frees the chunk once it is read.
	arena := make([]byte, 0, text)
	for r := range size {
		for i := range cols {
			c := &cols[i]
			if c.valid != nil && *(*uint64)(unsafe.Add(c.valid, r/64*8))&(1<<(r%64)) == 0 {
				if err := c.setNull(); err != nil {
					return err
				}
				continue
			}
			switch d := c.dest.(type) {
			case *string:
				st := (*stringT)(unsafe.Add(c.data, r*int(unsafe.Sizeof(stringT{}))))
				src := st.ptr
				if st.length <= stringInline {
					src = (*byte)(unsafe.Pointer(&st.prefix))
				}
				start := len(arena)
				arena = append(arena, unsafe.Slice(src, st.length)...)
				*d = unsafe.String(unsafe.SliceData(arena[start:]), int(st.length))
			case *time.Time:
				*d = time.UnixMicro(*(*int64)(unsafe.Add(c.data, r*8))).UTC()
			case *sql.NullTime:
				*d = sql.NullTime{Time: time.UnixMicro(*(*int64)(unsafe.Add(c.data, r*8))).UTC(), Valid: true}
			case *sql.NullFloat64:
				*d = sql.NullFloat64{Float64: *(*float64)(unsafe.Add(c.data, r*8)), Valid: true}
			case *bool:
				*d = *(*byte)(unsafe.Add(c.data, r)) != 0
			case *int64:
				if c.typ == mapping.TypeInteger {
					*d = int64(*(*int32)(unsafe.Add(c.data, r*4)))
				} else {
					*d = *(*int64)(unsafe.Add(c.data, r*8))
				}
			}
		}
		if err := each(); err != nil {
			return err
		}
	}
	return nil
}

// errNull is the error of a NULL in a column whose destination cannot hold one.
var errNull = errors.New("read result: NULL in a column that cannot hold it")

// setNull sets the destination to NULL, or returns errNull when it cannot hold one.
func (c *resultColumn) setNull() error {
	switch d := c.dest.(type) {
	case *sql.NullTime:
		*d = sql.NullTime{}
	case *sql.NullFloat64:
		*d = sql.NullFloat64{}
	default:
		return errNull
	}
	return nil
}
