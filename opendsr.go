package unmogrowp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strings"
	"time"
)

// OpenDSR (OpenGDPR) subject request types (docs/privacy.md).
const (
	RequestErasure     = "erasure"
	RequestAccess      = "access"
	RequestPortability = "portability"
)

// Subject request statuses, in the order a request goes through them; cancelled ends a
// pending one.
const (
	RequestPending    = "pending"
	RequestInProgress = "in_progress"
	RequestCompleted  = "completed"
	RequestCancelled  = "cancelled"
)

// Identity formats a subject identity may be given in.
const (
	IdentityRaw    = "raw"
	IdentitySHA256 = "sha256"
)

// The fields of events and touchpoints that identify a device or a person: what a subject
// identity names, and what tombstones match.
const (
	FieldDeviceID  = "device_id"
	FieldUserID    = "user_id"
	FieldIDFA      = "idfa"
	FieldGAID      = "gaid"
	FieldIDFV      = "idfv"
	FieldAndroidID = "android_id"
)

// IdentityFields maps each OpenDSR identity type the product supports to the event field
// it names.
var IdentityFields = map[string]string{
	"android_advertising_id": FieldGAID,
	"ios_advertising_id":     FieldIDFA,
	"ios_vendor_id":          FieldIDFV,
	"android_id":             FieldAndroidID,
	"controller_customer_id": FieldUserID,
	"unmogrowp_device_id":    FieldDeviceID,
}

// IdentityTypes lists the keys of IdentityFields, sorted.
func IdentityTypes() []string {
	out := make([]string, 0, len(IdentityFields))
	for k := range IdentityFields {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// HashIdentity returns the lower-case hex SHA-256 of an identity value: the form an
// identity takes in a tombstone, and that a sha256 identity is given in.
func HashIdentity(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// SubjectIdentity is one identity of an OpenDSR request, as the controller sent it.
type SubjectIdentity struct {
	Type   string `json:"identity_type"`
	Value  string `json:"identity_value"`
	Format string `json:"identity_format"`
}

// Field returns the event field the identity names, and false for an unsupported type.
func (id SubjectIdentity) Field() (string, bool) {
	f, ok := IdentityFields[id.Type]
	return f, ok
}

// Hash returns the identity's value as a tombstone holds it: HashIdentity of a raw value,
// the lower-cased value of a sha256 one.
func (id SubjectIdentity) Hash() string {
	if id.Format == IdentitySHA256 {
		return strings.ToLower(id.Value)
	}
	return HashIdentity(id.Value)
}

// SubjectRequest is an OpenDSR request as the product keeps it.
type SubjectRequest struct {
	AppID        string // the controller: the app the request is for
	ID           string // subject_request_id, a lower-case UUID
	Type         string // RequestErasure, RequestAccess or RequestPortability
	Regulation   string // gdpr or ccpa
	Status       string
	Identities   []SubjectIdentity
	CallbackURLs []string
	Submitted    time.Time // submitted_time, the controller's
	Received     time.Time
	Expected     time.Time // expected_completion_time
	Completed    time.Time // zero until completed
	LogPurgedBy  time.Time // erasure: when the raw log's copies are gone; zero until completed
	// Response is the JSON body of the 201 that created the request: a repeat of the
	// same subject_request_id is answered with it again.
	Response []byte
	// Results is how many rows the access or portability file holds; ResultsExpire when
	// the file is deleted (zero: no file).
	Results       int64
	ResultsExpire time.Time
	// Attempts counts the runs that claimed the request; Error is why the last one did
	// not finish ("" when it did).
	Attempts int
	Error    string
}

// Tombstone is one erased identity of an app: events and touchpoints whose Field carries a
// value whose HashIdentity is Hash are neither stored, attributed nor sent anywhere.
type Tombstone struct {
	AppID     string
	Field     string
	Hash      string
	RequestID string // the erasure request that made it
}

// Tombstones returns the tombstones of an erasure request: one per identity. Identities
// of an unsupported type are left out (a request with one is refused before).
func (r *SubjectRequest) Tombstones() []Tombstone {
	var out []Tombstone
	for _, id := range r.Identities {
		if f, ok := id.Field(); ok {
			out = append(out, Tombstone{AppID: r.AppID, Field: f, Hash: id.Hash(), RequestID: r.ID})
		}
	}
	return out
}

// TombstoneSet answers, for events and touchpoints, whether they carry an erased identity.
// The zero value holds none. It is read-only once built, so safe for concurrent use.
type TombstoneSet struct {
	apps map[string]map[string]struct{} // app → field + "\x00" + hash
}

// NewTombstoneSet returns the set of ts.
func NewTombstoneSet(ts []Tombstone) *TombstoneSet {
	s := &TombstoneSet{apps: map[string]map[string]struct{}{}}
	for _, t := range ts {
		m := s.apps[t.AppID]
		if m == nil {
			m = map[string]struct{}{}
			s.apps[t.AppID] = m
		}
		m[t.Field+"\x00"+t.Hash] = struct{}{}
	}
	return s
}

// Len is how many distinct tombstones the set holds.
func (s *TombstoneSet) Len() int {
	n := 0
	if s != nil {
		for _, m := range s.apps {
			n += len(m)
		}
	}
	return n
}

// match reports whether any of the app's fields (field, value pairs) is tombstoned. An
// app without tombstones costs one map lookup; the others one hash per non-empty value.
func (s *TombstoneSet) match(appID string, fields ...string) bool {
	if s == nil {
		return false
	}
	m := s.apps[appID]
	if len(m) == 0 {
		return false
	}
	for i := 0; i+1 < len(fields); i += 2 {
		if v := fields[i+1]; v != "" {
			if _, ok := m[fields[i]+"\x00"+HashIdentity(v)]; ok {
				return true
			}
		}
	}
	return false
}

// Event reports whether e carries an erased identity.
func (s *TombstoneSet) Event(e *Event) bool {
	return s.match(e.AppID, FieldDeviceID, e.DeviceID, FieldUserID, e.UserID, FieldIDFA, e.IDFA,
		FieldGAID, e.GAID, FieldIDFV, e.IDFV, FieldAndroidID, e.AndroidID)
}

// Touchpoint reports whether tp carries an erased identity.
func (s *TombstoneSet) Touchpoint(tp *Touchpoint) bool {
	return s.match(tp.AppID, FieldDeviceID, tp.DeviceID, FieldIDFA, tp.IDFA, FieldGAID, tp.GAID,
		FieldAndroidID, tp.AndroidID)
}

// SubjectRequestStore keeps OpenDSR requests, their tombstones, access files and the
// processor's signing key: package metadata (SQLite and PostgreSQL), shared by every
// process. Every implementation runs metadatatest's OpenDSR suite. Every method returns
// ctx.Err() when ctx is done first and EUNAVAILABLE when the store cannot answer.
type SubjectRequestStore interface {
	// CreateSubjectRequest stores a new request and, for an erasure, its tombstones, in
	// one transaction. If the app already has a request with r.ID, it stores nothing and
	// returns that one and false: a repeat is answered as the first was.
	CreateSubjectRequest(ctx context.Context, r *SubjectRequest) (*SubjectRequest, bool, error)

	// SubjectRequest returns the app's request. Returns ENOTFOUND if there is none.
	SubjectRequest(ctx context.Context, appID, id string) (*SubjectRequest, error)

	// CancelSubjectRequest makes a pending request cancelled and removes its tombstones,
	// and returns it. Returns ENOTFOUND if there is none, ECONFLICT if it is not pending.
	CancelSubjectRequest(ctx context.Context, appID, id string) (*SubjectRequest, error)

	// ClaimSubjectRequest leases to the caller, until now+lease, the oldest request that
	// is pending, or in progress with its lease ended, and makes it in_progress (Attempts
	// up by one). It returns nil when there is none. Two callers never hold one request's
	// lease at once.
	ClaimSubjectRequest(ctx context.Context, now time.Time, lease time.Duration) (*SubjectRequest, error)

	// FinishSubjectRequest records the end of a claimed request: completed (with
	// r.Completed, r.LogPurgedBy, r.Results, r.ResultsExpire and the file's bytes, nil for
	// none) or, with r.Error set and its status in_progress, a failed attempt whose lease
	// ends now so that it is claimed again. Returns ENOTFOUND if there is no such request.
	FinishSubjectRequest(ctx context.Context, r *SubjectRequest, file []byte) error

	// SubjectRequestFile returns the access or portability file of a completed request.
	// Returns ENOTFOUND if there is none or it expired by now.
	SubjectRequestFile(ctx context.Context, appID, id string, now time.Time) ([]byte, error)

	// PruneSubjectRequestFiles deletes the files expired by now and returns how many.
	PruneSubjectRequestFiles(ctx context.Context, now time.Time) (int, error)

	// TombstoneVersion returns a value that changes whenever a tombstone is added or
	// removed, so that a cache reloads Tombstones only then.
	TombstoneVersion(ctx context.Context) (string, error)

	// AddTombstones adds the tombstones the app does not hold yet (same field and hash):
	// an erasure's job adds those of the identities it finds the subject's devices
	// carrying.
	AddTombstones(ctx context.Context, ts []Tombstone) error

	// Tombstones returns every tombstone of every app.
	Tombstones(ctx context.Context) ([]Tombstone, error)

	// ProcessorKey returns the processor's signing key and certificate (PEM), making them
	// with make the first time: every process gets the same pair.
	ProcessorKey(ctx context.Context, generate func() (key, cert []byte, err error)) (key, cert []byte, err error)

	// EraseDevices deletes the app's devices' consent statements and postback deliveries
	// (every status), and returns how many rows it deleted.
	EraseDevices(ctx context.Context, appID string, deviceIDs []string) (int64, error)
}

// Subject is what an erasure or access request matches in the analytics store: values of
// identity fields, raw or hashed, and the touchpoints its devices' installs were
// attributed to. A row matches when any of its identity fields holds one of the values.
type Subject struct {
	AppID         string
	Raw           map[string][]string // by field (FieldDeviceID...): the values
	Hashed        map[string][]string // by field: HashIdentity of the values
	TouchpointIDs []string
	// EventIDs are the ids of the devices' stored events, which ResolveSubject fills: the
	// deduplicator's claims to forget. Rows are not matched by them.
	EventIDs []string
	// After, when not nil, narrows CountSubject to the rows stored above these log
	// positions (by partition; all rows of a partition it does not name): what was stored
	// after the store's Watermarks returned them. Only CountSubject reads it.
	After map[int32]int64
}

// Add adds a raw value of field, unless it is empty, all zeros, or already there.
func (s *Subject) Add(field, v string) {
	if IsZeroID(v) {
		return
	}
	if s.Raw == nil {
		s.Raw = map[string][]string{}
	}
	if !slices.Contains(s.Raw[field], v) {
		s.Raw[field] = append(s.Raw[field], v)
	}
}

// Size is how many raw values s holds: a resolution is done when it stops growing.
func (s *Subject) Size() int {
	n := 0
	for _, vs := range s.Raw {
		n += len(vs)
	}
	return n
}

// Clone returns a copy of s that shares no slice or map with it.
func (s Subject) Clone() Subject {
	out := Subject{AppID: s.AppID, Raw: map[string][]string{}, Hashed: map[string][]string{},
		TouchpointIDs: slices.Clone(s.TouchpointIDs), EventIDs: slices.Clone(s.EventIDs), After: maps.Clone(s.After)}
	for f, vs := range s.Raw {
		out.Raw[f] = slices.Clone(vs)
	}
	for f, vs := range s.Hashed {
		out.Hashed[f] = slices.Clone(vs)
	}
	return out
}

// Empty reports whether the subject matches nothing.
func (s *Subject) Empty() bool {
	for _, vs := range s.Raw {
		if len(vs) > 0 {
			return false
		}
	}
	for _, vs := range s.Hashed {
		if len(vs) > 0 {
			return false
		}
	}
	return len(s.TouchpointIDs) == 0
}

// SubjectOf returns the subject that a request's identities name.
func SubjectOf(r *SubjectRequest) Subject {
	s := Subject{AppID: r.AppID}
	for _, id := range r.Identities {
		f, ok := id.Field()
		if !ok {
			continue
		}
		if id.Format == IdentitySHA256 {
			if s.Hashed == nil {
				s.Hashed = map[string][]string{}
			}
			s.Hashed[f] = append(s.Hashed[f], strings.ToLower(id.Value))
		} else {
			s.Add(f, id.Value)
		}
	}
	return s
}

// SubjectStore is the analytics store's side of erasure and access: package duckdb and
// package clickhouse, which run storetest.RunSubject. Every method returns ctx.Err() when
// ctx is done first.
type SubjectStore interface {
	// ResolveSubject returns s widened to the devices it names: the ids of the devices
	// whose stored events match s, every identity value those devices' events carry, and
	// the touchpoints their installs were attributed to.
	ResolveSubject(ctx context.Context, s Subject) (Subject, error)

	// SubjectTouchpoints returns the stored touchpoints that match s, oldest first.
	SubjectTouchpoints(ctx context.Context, s Subject) ([]Touchpoint, error)

	// EraseSubject deletes every stored row that matches s (events, touchpoints, install
	// decisions, and what is derived from them), and returns once the deletion is
	// complete: a read after it sees none of them. It returns how many events,
	// touchpoints and install decisions it deleted.
	EraseSubject(ctx context.Context, s Subject) (int64, error)

	// CountSubject returns how many stored rows match s (above s.After when set).
	CountSubject(ctx context.Context, s Subject) (int64, error)
}

// Forgetter is a hot state or a deduplicator that can drop what it holds of devices.
type Forgetter interface {
	// Forget drops the app's devices' install decisions, the touchpoints with the ids, and
	// the claims of the event ids. It is idempotent.
	Forget(ctx context.Context, appID string, deviceIDs, touchpointIDs, eventIDs []string) error
}
