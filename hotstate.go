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
	// return more than that, duplicates included, but misses none that is still kept: a
	// touchpoint is kept at least as long as the retention the implementation was made
	// with, counted from its touch time. The touchpoints returned are copies.
	Candidates(ctx context.Context, appID string, keys []string) ([]Touchpoint, error)

	// Device returns the latest install decision of the app's device, and false when the
	// device has none.
	Device(ctx context.Context, appID, deviceID string) (Install, bool, error)

	// Apply indexes the touchpoints and makes each install the latest decision of its
	// device. Installs are applied in order, so the last one of a device wins. Applying
	// the same touchpoints or installs again changes nothing.
	Apply(ctx context.Context, touchpoints []Touchpoint, installs []Install) error

	// Close releases the hot state.
	Close() error
}
