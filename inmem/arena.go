package inmem

// Records live in arenas: large byte chunks that hold many encoded records back to back,
// addressed by a 32-bit position. A chunk holds no pointers, so the garbage collector
// never scans it, and a record costs its encoded bytes and nothing else.

const (
	chunkBits  = 18                    // a position's low bits: the offset in its chunk
	maxChunk   = 1 << chunkBits        // the capacity of a full-size chunk: 256 KiB
	maxChunks  = 1 << (32 - chunkBits) // chunks per arena: 16384, so up to 4 GiB
	firstChunk = 4 << 10               // the first chunk's capacity; each next one doubles
	offsetMask = uint32(maxChunk - 1)
	noPos      = ^uint32(0) // no record: a record never starts at a chunk's last byte
)

// arena is an append-only store of records. A position is the chunk index times maxChunk
// plus the offset in the chunk; a record larger than maxChunk gets a chunk of its own, at
// offset 0. The zero arena is empty and ready to use.
type arena struct {
	chunks   [][]byte
	used     int64 // bytes of records
	reserved int64 // bytes of chunk capacity
}

// fits reports whether add would succeed for a record of n bytes.
func (a *arena) fits(n int) bool {
	k := len(a.chunks)
	return k < maxChunks || n <= cap(a.chunks[k-1])-len(a.chunks[k-1])
}

// add copies rec into the arena and returns its position; false when the arena is full
// (see fits).
func (a *arena) add(rec []byte) (uint32, bool) {
	k := len(a.chunks)
	if k > 0 {
		if c := a.chunks[k-1]; len(rec) <= cap(c)-len(c) {
			pos := uint32(k-1)<<chunkBits | uint32(len(c))
			a.chunks[k-1] = append(c, rec...)
			a.used += int64(len(rec))
			return pos, true
		}
	}
	if k == maxChunks {
		return 0, false
	}
	size := firstChunk
	if k > 0 {
		size = min(2*cap(a.chunks[k-1]), maxChunk)
	}
	size = max(size, len(rec)) // a record larger than maxChunk gets exactly its size
	c := make([]byte, 0, size)
	a.chunks = append(a.chunks, append(c, rec...))
	a.used += int64(len(rec))
	a.reserved += int64(size)
	return uint32(k) << chunkBits, true
}

// at returns the bytes from the record at pos to the end of its chunk.
func (a *arena) at(pos uint32) []byte {
	return a.chunks[pos>>chunkBits][pos&offsetMask:]
}
