package storetest

import "github.com/unmogrowp/unmogrowp"

// BenchBatch is one batch of a store benchmark's pool (BenchPool), and where each
// install's event is.
type BenchBatch struct {
	unmogrowp.Batch
	installEvent []int // index in Events of each install's event
}

// BenchPool returns n batches of realistic events and touchpoints, each with the installs
// decided from them when it has both.
func BenchPool(n, events, touchpoints int) []BenchBatch {
	evPool := RealisticEvents(n*events, 42)
	tpPool := RealisticTouchpoints(n*touchpoints, 43)
	pool := make([]BenchBatch, n)
	for k := range pool {
		bb := &pool[k]
		bb.Events = evPool[k*events : (k+1)*events]
		bb.Touchpoints = tpPool[k*touchpoints : (k+1)*touchpoints]
		if events > 0 && touchpoints > 0 {
			bb.Installs = RealisticInstalls(bb.Events, bb.Touchpoints, uint64(k))
			for j := range bb.Events {
				if bb.Events[j].EventType == unmogrowp.EventInstall {
					bb.installEvent = append(bb.installEvent, j)
				}
			}
		}
	}
	return pool
}

// Renumber gives the batch's rows new log positions, from offset on over 4 partitions
// (an install takes its event's), and returns the offset after them.
func (bb *BenchBatch) Renumber(offset int64) int64 {
	for j := range bb.Events {
		bb.Events[j].Partition, bb.Events[j].Offset = int32(j%4), offset
		offset++
	}
	for j := range bb.Touchpoints {
		bb.Touchpoints[j].Partition, bb.Touchpoints[j].Offset = int32(j%4), offset
		offset++
	}
	for j, e := range bb.installEvent {
		bb.Installs[j].Partition, bb.Installs[j].Offset = bb.Events[e].Partition, bb.Events[e].Offset
	}
	return offset
}
