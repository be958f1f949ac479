package duckdb

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/duckdb/duckdb-go/v2/mapping"
)

// The chunk appender: DuckDB's C appender fed whole data chunks whose vectors Go fills in
// place. duckdb-go's Appender takes one driver.Value at a time: a type switch, an interface
// conversion (an allocation per string) and, per string, a cgo call that makes DuckDB
// check its UTF-8 and copy it. Here a number, a bool or a time is one store into the
// vector's memory; a string is one 16-byte duckdb_string_t (the C API's public layout):
// inline when it has at most 12 bytes, else its length, first 4 bytes and a pointer to a
// copy in an arena of Go memory, pinned until DuckDB has copied the chunk. The only cgo
// calls are per chunk of 2048 rows (append it, reset it, get its vectors) and per table
// (create, flush and destroy the appender). append.go gives the figures.
//
// DuckDB does not check the UTF-8 of the strings of a chunk; the setters below replace
// invalid sequences with U+FFFD, as validUTF8 does for duckdb-go's appender.

// vectorKind is a column's DuckDB type, which fixes how its vector is laid out.
type vectorKind uint8

// The kinds of column the store writes, and their vectors' elements.
const (
	kindInteger   vectorKind = iota // INTEGER: int32
	kindBigint                      // BIGINT: int64
	kindBoolean                     // BOOLEAN: one byte, 0 or 1
	kindDouble                      // DOUBLE: float64
	kindVarchar                     // VARCHAR: duckdb_string_t
	kindTimestamp                   // TIMESTAMP: int64 microseconds since the Unix epoch
)

// typeID is the DuckDB type of the kind.
func (k vectorKind) typeID() mapping.Type {
	switch k {
	case kindInteger:
		return mapping.TypeInteger
	case kindBigint:
		return mapping.TypeBigInt
	case kindBoolean:
		return mapping.TypeBoolean
	case kindDouble:
		return mapping.TypeDouble
	case kindTimestamp:
		return mapping.TypeTimestamp
	}
	return mapping.TypeVarchar
}

// driverConnHandle returns the DuckDB connection handle inside a duckdb-go driver
// connection (what sql.Conn.Raw hands out). duckdb-go keeps it in an unexported field; it
// is read by name and type, so a duckdb-go that stores it differently makes this fail
// (and Append fall back to duckdb-go's Appender; TestChunkAppenderAvailable fails), never
// read something else. The handle may be used only inside the Raw call.
func driverConnHandle(dc any) (mapping.Connection, error) {
	c, ok := dc.(*duckdb.Conn)
	if !ok || c == nil {
		return mapping.Connection{}, fmt.Errorf("driver connection is a %T, not a *duckdb.Conn", dc)
	}
	f := reflect.ValueOf(c).Elem().FieldByName("conn")
	if !f.IsValid() || f.Type() != reflect.TypeFor[mapping.Connection]() {
		return mapping.Connection{}, errors.New("duckdb.Conn has no conn field of type mapping.Connection")
	}
	h := *(*mapping.Connection)(unsafe.Pointer(f.UnsafeAddr()))
	if h.Ptr == nil {
		return mapping.Connection{}, errors.New("duckdb.Conn has no connection handle")
	}
	return h, nil
}

// appendChunks writes rows into the table t through a DuckDB appender on the connection
// conn, inside the transaction open on it, one data chunk of up to 2048 rows at a time:
// put fills row r of a chunk, pos names a row's log position in errors. a holds the
// chunks' long strings. On error the appender's rows are dropped and the caller rolls
// back what it flushed already. The context is checked between chunks.
func appendChunks[T any](ctx context.Context, conn mapping.Connection, a *arena, dst target, t table, rows []T,
	put func(*chunk, int, *T), pos func(*T) (int32, int64)) (err error) {
	if len(rows) == 0 {
		return nil
	}
	var app mapping.Appender
	if mapping.AppenderCreateExt(conn, dst.catalog, "", dst.name, &app) == mapping.StateError {
		err := appenderError(app)
		mapping.AppenderDestroy(&app)
		return fmt.Errorf("%s appender: %w", t.name, err)
	}
	defer func() {
		if err != nil {
			mapping.AppenderClear(app) // drop the buffered rows; the caller rolls back
		}
		if mapping.AppenderDestroy(&app) == mapping.StateError && err == nil {
			err = fmt.Errorf("close %s appender", t.name)
		}
	}()
	types, err := appenderTypes(app, t, dst.seq > 0)
	if err != nil {
		return err
	}
	dc := mapping.CreateDataChunk(types)
	for i := range types {
		mapping.DestroyLogicalType(&types[i])
	}
	defer mapping.DestroyDataChunk(&dc)

	c := newChunk(dc, len(types), a)
	seqCol := len(t.kinds) // stage_seq, when dst.seq > 0
	defer a.release()
	size := int(mapping.VectorSize())
	for start := 0; start < len(rows); start += size {
		if err := ctx.Err(); err != nil {
			return err
		}
		part := rows[start:min(start+size, len(rows))]
		c.begin()
		for r := range part {
			put(c, r, &part[r])
			if dst.seq > 0 {
				c.setBigint(seqCol, r, dst.seq)
			}
			if c.bad != "" {
				p, o := pos(&part[r])
				return fmt.Errorf("append to %s, row %d (partition %d offset %d): %s", t.name, start+r, p, o, c.bad)
			}
		}
		mapping.DataChunkSetSize(dc, mapping.IdxT(len(part)))
		// DuckDB copies the chunk, strings included, before this returns.
		failed := mapping.AppendDataChunk(app, dc) == mapping.StateError
		mapping.DataChunkReset(dc)
		a.release()
		if failed {
			return fmt.Errorf("append to %s, rows %d to %d: %w", t.name, start, start+len(part)-1, appenderError(app))
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// The flush moves the rows into the table (still inside the transaction), where its
	// constraints are checked.
	if mapping.AppenderFlush(app) == mapping.StateError {
		return fmt.Errorf("flush %s appender: %w", t.name, appenderError(app))
	}
	return nil
}

// appenderTypes returns the types of the appender's columns, which the caller destroys,
// or an error if they are not the kinds t's rows are written as, and, when seq, a last
// BIGINT (the stage's stage_seq).
func appenderTypes(app mapping.Appender, t table, seq bool) ([]mapping.LogicalType, error) {
	kinds := t.kinds
	if seq {
		kinds = append(kinds[:len(kinds):len(kinds)], kindBigint)
	}
	n := int(mapping.AppenderColumnCount(app))
	if n != len(kinds) {
		return nil, fmt.Errorf("%s appender has %d columns, the store writes %d", t.name, n, len(kinds))
	}
	types := make([]mapping.LogicalType, n)
	for i := range types {
		types[i] = mapping.AppenderColumnType(app, mapping.IdxT(i))
		if got := mapping.GetTypeId(types[i]); got != kinds[i].typeID() {
			for j := range i + 1 {
				mapping.DestroyLogicalType(&types[j])
			}
			col := "stage_seq"
			if i < len(t.columns) {
				col = t.columns[i]
			}
			return nil, fmt.Errorf("%s column %s has DuckDB type %d, the store writes %d", t.name, col, got, kinds[i].typeID())
		}
	}
	return types, nil
}

// appenderError is the appender's last error.
func appenderError(app mapping.Appender) error {
	ed := mapping.AppenderErrorData(app)
	defer mapping.DestroyErrorData(&ed)
	if !mapping.ErrorDataHasError(ed) {
		return errors.New("unknown appender error")
	}
	return errors.New(mapping.ErrorDataMessage(ed))
}

// chunk is the data chunk being filled: where each column's values and validity live.
// Its setters write row r of a column; a time DuckDB cannot store sets bad.
type chunk struct {
	dc       mapping.DataChunk
	data     []unsafe.Pointer // each column's values, from the chunk's vector
	validity []unsafe.Pointer // each column's validity mask, nil until it gets a NULL
	arena    *arena
	bad      string // why the row cannot be stored, "" when it can
}

// newChunk returns the chunk of dc, which has n columns.
func newChunk(dc mapping.DataChunk, n int, a *arena) *chunk {
	return &chunk{dc: dc, data: make([]unsafe.Pointer, n), validity: make([]unsafe.Pointer, n), arena: a}
}

// begin readies an empty chunk for filling: DuckDB may hand out other buffers after a
// reset, so the vectors are looked up again.
func (c *chunk) begin() {
	for i := range c.data {
		c.data[i] = mapping.VectorGetData(mapping.DataChunkGetVector(c.dc, mapping.IdxT(i)))
		c.validity[i] = nil
	}
}

// at returns the address of element r of a column whose elements take size bytes.
func (c *chunk) at(col, r int, size uintptr) unsafe.Pointer {
	return unsafe.Add(c.data[col], uintptr(r)*size)
}

// setNull makes row r of the column NULL.
func (c *chunk) setNull(col, r int) {
	if c.validity[col] == nil {
		v := mapping.DataChunkGetVector(c.dc, mapping.IdxT(col))
		mapping.VectorEnsureValidityWritable(v) // all rows valid
		c.validity[col] = mapping.VectorGetValidity(v)
	}
	*(*uint64)(unsafe.Add(c.validity[col], r/64*8)) &^= 1 << (r % 64)
}

// setInteger writes an INTEGER.
func (c *chunk) setInteger(col, r int, v int32) { *(*int32)(c.at(col, r, 4)) = v }

// setBigint writes a BIGINT.
func (c *chunk) setBigint(col, r int, v int64) { *(*int64)(c.at(col, r, 8)) = v }

// setBoolean writes a BOOLEAN.
func (c *chunk) setBoolean(col, r int, v bool) { *(*bool)(c.at(col, r, 1)) = v }

// setDouble writes a DOUBLE.
func (c *chunk) setDouble(col, r int, v float64) { *(*float64)(c.at(col, r, 8)) = v }

// The range of times a TIMESTAMP holds, as duckdb-go's appender checks it: years -290307
// to 294246 (in UTC; duckdb-go takes the year in the time's location).
var (
	minTimestamp = time.Date(-290307, 1, 1, 0, 0, 0, 0, time.UTC)
	endTimestamp = time.Date(294247, 1, 1, 0, 0, 0, 0, time.UTC) // excluded
)

// setTimestamp writes a TIMESTAMP: t in Unix microseconds, rounded down, as duckdb-go
// writes it.
func (c *chunk) setTimestamp(col, r int, t time.Time) {
	if t.Before(minTimestamp) || !t.Before(endTimestamp) {
		c.bad = fmt.Sprintf("time %v is outside DuckDB's TIMESTAMP range", t)
		return
	}
	*(*int64)(c.at(col, r, 8)) = t.UnixMicro()
}

// setNullTimestamp writes a TIMESTAMP, NULL for the zero time (as nullTime).
func (c *chunk) setNullTimestamp(col, r int, t time.Time) {
	if t.IsZero() {
		c.setNull(col, r)
		return
	}
	c.setTimestamp(col, r, t)
}

// setNullDouble writes a DOUBLE, or NULL when ok is false.
func (c *chunk) setNullDouble(col, r int, v float64, ok bool) {
	if !ok {
		c.setNull(col, r)
		return
	}
	c.setDouble(col, r, v)
}

// stringInline is the longest string a duckdb_string_t holds in place.
const stringInline = 12

// setVarchar writes a VARCHAR, its invalid UTF-8 replaced as validUTF8 does. The
// duckdb_string_t is the length (uint32), then either the bytes, zero-padded (DuckDB
// compares inline strings as 16 bytes), or the first 4 bytes and a pointer to them all.
func (c *chunk) setVarchar(col, r int, s string) {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	p := c.at(col, r, 16)
	if len(s) <= stringInline {
		var v [16]byte
		*(*uint32)(unsafe.Pointer(&v)) = uint32(len(s))
		copy(v[4:], s)
		*(*[16]byte)(p) = v
		return
	}
	if uint64(len(s)) > math.MaxUint32 {
		c.bad = fmt.Sprintf("a string of %d bytes is longer than DuckDB's limit", len(s))
		return
	}
	*(*uint32)(p) = uint32(len(s))
	copy((*[4]byte)(unsafe.Add(p, 4))[:], s)
	// A uintptr, not a pointer: the vector is C memory, where the garbage collector must
	// not look (the arena is pinned instead).
	*(*uintptr)(unsafe.Add(p, 8)) = c.arena.put(s)
}

// setNullJSON writes a JSON document as a VARCHAR, NULL when empty (as nullJSON).
func (c *chunk) setNullJSON(col, r int, raw []byte) {
	if len(raw) == 0 {
		c.setNull(col, r)
		return
	}
	// The string shares raw's bytes: setVarchar only copies them.
	c.setVarchar(col, r, unsafe.String(unsafe.SliceData(raw), len(raw)))
}

// arenaSlab is the size of an arena's slabs: a chunk of realistic events needs about
// 750kB of long strings.
const arenaSlab = 1 << 20

// arena holds copies of the long strings of the chunk being filled, in slabs of Go memory
// pinned (runtime.Pinner) while DuckDB's vectors point into them, which is what lets C
// memory hold Go pointers. One arena serves one appender at a time; it keeps a slab
// between batches.
type arena struct {
	slabs [][]byte // the slabs in use by the chunk, each pinned; the last one fills up
	spare []byte   // a slab kept for the next chunk
	pin   runtime.Pinner
}

// put copies s to the arena and returns the copy's address, valid until release.
func (a *arena) put(s string) uintptr {
	n := len(a.slabs)
	if n == 0 || len(a.slabs[n-1])+len(s) > cap(a.slabs[n-1]) {
		var slab []byte
		if a.spare != nil && len(s) <= cap(a.spare) {
			slab, a.spare = a.spare[:0], nil
		} else {
			slab = make([]byte, 0, max(arenaSlab, len(s)))
		}
		a.pin.Pin(unsafe.SliceData(slab))
		a.slabs = append(a.slabs, slab)
		n++
	}
	slab := a.slabs[n-1]
	off := len(slab)
	a.slabs[n-1] = append(slab, s...)
	return uintptr(unsafe.Pointer(unsafe.SliceData(slab))) + uintptr(off)
}

// release unpins the slabs once DuckDB no longer points into them, keeping one of the
// usual size for the next chunk.
func (a *arena) release() {
	a.pin.Unpin()
	for i, slab := range a.slabs {
		if cap(slab) == arenaSlab && a.spare == nil {
			a.spare = slab
		}
		a.slabs[i] = nil
	}
	a.slabs = a.slabs[:0]
}
