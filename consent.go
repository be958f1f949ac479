package unmogrowp

import "context"

// Consent is a device's statement of third_party_sharing: what an event or a touchpoint of
// the device carried, and where that record sits in the log (DATA.md, "Consent"). A
// device's latest statement is its consent: Sharing false marks it, so that it is never
// sent to an ad network, until a later statement of true lifts it.
type Consent struct {
	AppID     string
	DeviceID  string
	Partition int32 // where the statement's record sits in the log
	Offset    int64
	Sharing   bool
}

// Later reports whether c comes after o in the log: a higher offset in the same
// partition, or any other partition (a device's records stay in one partition; should it
// move, what is written last counts).
func (c Consent) Later(o Consent) bool {
	return c.Partition != o.Partition || c.Offset > o.Offset
}

// ConsentStore keeps each device's latest consent statement. The pipeline records the
// statements of each batch after enqueueing its deliveries and before the analytics store
// write, and reads them back when it decides the next batches' postbacks; both listeners
// read them to show third_party_sharing in the attribution object. Implementations:
// package metadata (SQLite and PostgreSQL) and package inmem (tests). Every
// implementation runs postbacktest.RunConsentStore.
//
// Every method returns ctx.Err() when ctx is done first, and EUNAVAILABLE when the store
// cannot answer.
type ConsentStore interface {
	// SetConsents records the statements: a device's stored statement is replaced by one
	// that is Later, and kept otherwise, so that recording a batch again after a replay
	// changes nothing. Of two statements of one device in one call, the later wins, as if
	// recorded one after the other. Returns EINVALID, recording nothing, for a statement
	// without AppID or DeviceID. An empty call is a no-op.
	SetConsents(ctx context.Context, cs []Consent) error

	// Consents returns the stored statements of the app's devices among deviceIDs, by
	// device id; a device with none is absent. Another app's devices are never returned.
	Consents(ctx context.Context, appID string, deviceIDs []string) (map[string]Consent, error)
}

// CheckConsents returns the error ConsentStore.SetConsents returns for statements it
// cannot take: an *Error with code EINVALID for one without AppID or DeviceID.
func CheckConsents(cs []Consent) error {
	for _, c := range cs {
		if c.AppID == "" || c.DeviceID == "" {
			return Errorf(EINVALID, "A consent statement needs its app and device.")
		}
	}
	return nil
}
