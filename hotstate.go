package unmogrowp

import "context"

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
	// return more than that, duplicates included, but misses none that is still kept and
	// never returns another app's: a touchpoint is kept at least as long as the retention
	// the implementation was made with, counted from its touch time. The touchpoints
	// returned are copies, in no particular order. Returns ctx.Err() when ctx is done, and
	// EUNAVAILABLE when the hot state cannot answer (closed, or its server unreachable).
	Candidates(ctx context.Context, appID string, keys []string) ([]Touchpoint, error)

	// Device returns the latest install decision of the app's device, a copy, and false
	// when the device has none. Errors as for Candidates.
	Device(ctx context.Context, appID, deviceID string) (Install, bool, error)

	// Apply indexes the touchpoints and makes each install the latest decision of its
	// device. Installs are applied in order, so the last one of a device wins. Applying
	// the same touchpoints or installs again changes nothing: a touchpoint is known by its
	// app and ID, and an install whose device's current decision has a higher offset in
	// the same partition is a replay of an older batch and is ignored. Apply keeps no
	// reference to its arguments. Errors as for Candidates.
	Apply(ctx context.Context, touchpoints []Touchpoint, installs []Install) error

	// Close releases the hot state.
	Close() error
}
