package unmogrowp

import "context"

// MaxCandidatesPerKey bounds the touchpoints a hot state returns under one key: the most
// recent ones by touch time (the in-process state orders a day's touchpoints by arrival,
// which follows touch time for live traffic). A device or an address with more clicks than
// that in its lookback window is click spam or a carrier's shared address; the bound keeps
// the cost of deciding an install flat whatever the traffic, and changes no decision but
// where more than this many touchpoints of one key are invalid or later than the install.
const MaxCandidatesPerKey = 100

// HotState is what attribution decides from, kept where the pipeline reaches it fast: the
// touchpoint index and each device's latest install decision. Implementations: package
// inmem (in process, rebuilt from the analytics store on start) and package redis (shared
// by consumers).
//
// The pipeline reads it while deciding a batch and applies the batch's results only after
// the analytics store has them, so the hot state never holds what the store lacks.
type HotState interface {
	// Candidates returns the touchpoints of the app stored under any of keys (see
	// attribution.Keys.Strings: the touchpoint id, the device ids, the fingerprint). It may
	// return more than that, duplicates included, and never returns another app's. Under
	// each key it returns the MaxCandidatesPerKey most recent touchpoints still kept, or all
	// of them when there are fewer: a touchpoint is kept at least as long as the retention
	// the implementation was made with, counted from its touch time. The touchpoints
	// returned are copies, in no particular order. Returns ctx.Err() when ctx is done, and
	// EUNAVAILABLE when the hot state cannot answer (closed, or its server unreachable).
	Candidates(ctx context.Context, appID string, keys []string) ([]Touchpoint, error)

	// Device returns the latest install decision of the app's device, a copy, with the
	// device's Activity as Seen last raised it (zero when never), and false when the
	// device has no decision. Errors as for Candidates.
	Device(ctx context.Context, appID, deviceID string) (Install, bool, error)

	// Seen raises the Activity of each device that has a decision (Activity.Merge: the
	// later event time, the non-empty ids); a device with none is left out. Applying the
	// same activities again, or older ones, changes nothing, so a replayed batch cannot
	// make a device look dormant again. A later Apply of the device's decision keeps its
	// activity. Errors as for Candidates.
	Seen(ctx context.Context, devices []DeviceActivity) error

	// Apply indexes the touchpoints and makes each install the latest decision of its
	// device. Installs are applied in order, so the last one of a device wins. Applying
	// the same touchpoints or installs again changes nothing: a touchpoint is known by its
	// app and ID, and an install whose device's current decision has a higher offset in
	// the same partition is a replay of an older batch and is ignored. A device's activity
	// outlives its decisions: Apply keeps it, raised by the install's Activity (as Seen;
	// the pipeline's latest decision of a device in a batch carries the activity the
	// batch gave it, a rebuild's carry the stored one). Apply keeps
	// no reference to its arguments. Errors as for Candidates.
	Apply(ctx context.Context, touchpoints []Touchpoint, installs []Install) error

	// RaiseWatermarks records that the hot state has been given (Apply) the touchpoints
	// and install decisions of every batch of the log up to the offsets in marks, by
	// partition. A partition's watermark only rises: a lower offset changes nothing.
	// Errors as for Candidates.
	RaiseWatermarks(ctx context.Context, marks map[int32]int64) error

	// Watermarks returns the watermarks RaiseWatermarks recorded, by partition; a
	// partition never raised is absent. The pipeline hands the hot state again, at start,
	// what the store holds above them: a crash between storing a batch and applying it
	// would otherwise leave the hot state without it for good. Errors as for Candidates.
	Watermarks(ctx context.Context) (map[int32]int64, error)

	// Close releases the hot state.
	Close() error
}
