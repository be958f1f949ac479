package unmogrowp

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strconv"
	"time"
)

// Kinds of SKAN postback.
const (
	SKANKindSKAN = "skan" // an SKAdNetwork install-validation postback
	SKANKindAAK  = "aak"  // an AdAttributionKit postback (a compact JWS)
)

// Signature states of a postback: what verifying Apple's signature found. None of them is
// a reason to refuse a postback; only valid ones count in reports.
const (
	SignatureValid       = "valid"
	SignatureInvalid     = "invalid"
	SignatureUnsupported = "unsupported_version" // SKAdNetwork 1.0 and 2.0 (a P-192 key), or a version we do not know
)

// Environments of a postback: AdAttributionKit's development keys sign development ones.
const (
	EnvironmentProduction  = "production"
	EnvironmentDevelopment = "development"
)

// Absent is the value of a SKANPostback's numeric field (or tri-state boolean) that the
// postback did not carry.
const Absent int64 = -1

// RecordSKAN is the record kind of a SKANPostback, encoded by EncodeSKANRecord.
const RecordSKAN byte = 3

// SKANPostback is an SKAdNetwork or AdAttributionKit postback as kept in the log and the
// analytics store: what Apple's device sent, verified, with where and how it arrived.
// Numeric fields, and the tri-state booleans DidWin and Redownload (1 true, 0 false), are
// Absent when the postback did not carry them; strings are "" when absent.
type SKANPostback struct {
	// Where the postback sits in the log, as for Event.
	Partition int32
	Offset    int64

	ID    string // ours: random, made at intake
	AppID string
	Kind  string // SKANKindSKAN or SKANKindAAK
	// FromApple is true for the copy Apple's device sent to the advertiser's endpoint (the
	// /.well-known/ routes), false for one a network or server forwarded: of two copies of
	// one postback, Apple's wins.
	FromApple bool

	Version                 string // SKAdNetwork's version; "" for AdAttributionKit
	AdNetworkID             string
	SourceIdentifier        string // SKAdNetwork 4.0 and AdAttributionKit: 2 to 4 digits
	CampaignID              int64  // SKAdNetwork before 4.0
	AppStoreID              int64  // app-id, or advertised-item-identifier: the advertised app
	SourceAppID             int64  // source-app-id
	SourceDomain            string // web ads
	PublisherItemIdentifier int64  // AdAttributionKit's publisher app
	TransactionID           string // SKAdNetwork's dedup id
	PostbackIdentifier      string // AdAttributionKit's dedup id
	PostbackSequenceIndex   int64
	DidWin                  int64
	Redownload              int64
	FidelityType            int64
	ConversionValue         int64  // fine value, 0..63
	CoarseConversionValue   string // "low", "medium", "high"
	ConversionType          string // AdAttributionKit: "download", "redownload", "re-engagement"
	AdInteractionType       string // AdAttributionKit: "view" or "click"
	CountryCode             string

	Signature   string // SignatureValid, SignatureInvalid or SignatureUnsupported
	Environment string // EnvironmentProduction or EnvironmentDevelopment
	ReceivedAt  time.Time
}

// DedupKey is what makes two copies of one postback the same (SKAN.md, "Deduplication"):
// SKAdNetwork's (ad network, transaction, sequence index, absent as 0) and
// AdAttributionKit's postback identifier, within one app.
func (p *SKANPostback) DedupKey() string {
	if p.Kind == SKANKindAAK {
		return "aak\x1f" + p.PostbackIdentifier
	}
	seq := max(p.PostbackSequenceIndex, 0)
	return "skan\x1f" + p.AdNetworkID + "\x1f" + p.TransactionID + "\x1f" + strconv.FormatInt(seq, 10)
}

// CampaignKey is the id that the networks' campaigns map (SKANNetwork.Campaigns): the
// source identifier, or the campaign id of a postback before SKAdNetwork 4.0; "" for none.
func (p *SKANPostback) CampaignKey() string {
	if p.SourceIdentifier != "" {
		return p.SourceIdentifier
	}
	if p.CampaignID != Absent {
		return strconv.FormatInt(p.CampaignID, 10)
	}
	return ""
}

// EncodeSKANRecord appends the log record of p to b and returns the extended slice. The
// encoding follows EncodeEventRecord's: first byte RecordSKAN, strings as length-prefixed
// bytes, then the numbers as varints, FromApple as one byte, and ReceivedAt. Partition
// and Offset are not part of it.
func EncodeSKANRecord(b []byte, p *SKANPostback) []byte {
	b = append(b, RecordSKAN)
	b = appendStrings(b, p.stringFields())
	for _, v := range p.intFields() {
		b = binary.AppendVarint(b, *v)
	}
	if p.FromApple {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	return appendTime(b, p.ReceivedAt)
}

// DecodeSKANRecord decodes a record made by EncodeSKANRecord into p. It returns an error
// wrapping ErrCorruptRecord for anything else, and never panics. Strings in p are copies.
// Partition and Offset are left as they are.
func DecodeSKANRecord(b []byte, p *SKANPostback) error {
	d := decoder{b: b}
	if kind := d.byte(); kind != RecordSKAN {
		return errors.Join(ErrCorruptRecord, errors.New("not a SKAN record"))
	}
	d.strings(p.stringFields())
	for _, v := range p.intFields() {
		*v = d.varint()
	}
	switch d.byte() {
	case 0:
		p.FromApple = false
	case 1:
		p.FromApple = true
	default:
		d.fail()
	}
	p.ReceivedAt = d.time()
	return d.finish()
}

// stringFields lists p's string fields in their order in the encoding. Appending a field
// here changes the encoding: add a record kind when you do.
func (p *SKANPostback) stringFields() []*string {
	return []*string{
		&p.ID, &p.AppID, &p.Kind, &p.Version, &p.AdNetworkID, &p.SourceIdentifier,
		&p.SourceDomain, &p.TransactionID, &p.PostbackIdentifier, &p.CoarseConversionValue,
		&p.ConversionType, &p.AdInteractionType, &p.CountryCode, &p.Signature, &p.Environment,
	}
}

// intFields lists p's numeric fields in their order in the encoding.
func (p *SKANPostback) intFields() []*int64 {
	return []*int64{
		&p.CampaignID, &p.AppStoreID, &p.SourceAppID, &p.PublisherItemIdentifier,
		&p.PostbackSequenceIndex, &p.DidWin, &p.Redownload, &p.FidelityType, &p.ConversionValue,
	}
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, k := binary.Varint(d.b)
	if k <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[k:]
	return v
}

// SKANStore is the analytics store's side for SKAN postbacks (the pipeline writes them
// through EventStore.Append, in Batch.SKAN). Implementations: package duckdb and package
// clickhouse, through the conformance suite of internal/storetest.
type SKANStore interface {
	// SKANPostbacks returns an app's postbacks with receive time in [From, To), one per
	// DedupKey (the copy that wins: Apple's, else the first in the log, with CVMismatch
	// set when the copies' conversion values differ), newest first (ties: highest
	// partition and offset first), at most Limit (all when 0), starting after Cursor;
	// next is the cursor of the page after this one, "" when there is none. Returns
	// EINVALID for a cursor it did not make.
	SKANPostbacks(ctx context.Context, f SKANFilter) (postbacks []StoredSKANPostback, next string, err error)

	// SKANReport counts an app's deduplicated postbacks with receive time in [from, to)
	// per ad network, campaign key and sequence index (SKAN.md, "Results"), before the
	// networks' mapping and the schema's decoding, which the caller applies. Rows are
	// ordered by ad network, campaign key and sequence index.
	SKANReport(ctx context.Context, appID string, from, to time.Time, acceptDevelopment bool) ([]SKANReportRow, error)
}

// SKANFilter selects a page of an app's postbacks.
type SKANFilter struct {
	AppID    string    // required
	From, To time.Time // receive time in [From, To); zero: unbounded
	Limit    int       // at most this many; 0: all
	Cursor   string    // from the previous page's next; "" for the first page
}

// StoredSKANPostback is a postback as the store answers it: the winning copy and whether
// the copies disagreed on the conversion value.
type StoredSKANPostback struct {
	SKANPostback
	CVMismatch bool
}

// SKANReportRow is one row of the store's SKAN report (SKANStore.SKANReport): counts over
// the deduplicated postbacks of one ad network, campaign key and sequence index. Only
// valid production postbacks (and development ones when accepted) count, but in
// InvalidSignatures, which counts the invalid ones.
type SKANReportRow struct {
	AdNetworkID           string
	CampaignKey           string // SKANPostback.CampaignKey
	PostbackSequenceIndex int64  // absent counts as 0
	Installs              int64
	Redownloads           int64
	NonWinning            int64
	Reengagements         int64
	ConversionValues      [64]int64 // fine values
	NullConversionValues  int64     // neither a fine nor a coarse value
	Coarse                [3]int64  // low, medium, high
	InvalidSignatures     int64
}

// CoarseValues are the coarse conversion values in the order of SKANReportRow.Coarse.
var CoarseValues = [3]string{"low", "medium", "high"}

// SKANReportPart is one row of a store's report query: the counts of the winning copies of
// one ad network, campaign key and sequence index with one fine value (Absent: none, or
// not counted). N counts the counted ones.
type SKANReportPart struct {
	AdNetworkID, CampaignKey string
	Seq, ConversionValue     int64
	N, Installs, Redownloads, NonWinning, Reengagements, NullConversionValues,
	Low, Medium, High, InvalidSignatures int64
}

// SKANReportBuilder folds a store's report parts into SKANReportRows. The zero value is
// ready to use.
type SKANReportBuilder struct {
	rows []SKANReportRow
	idx  map[string]int
}

// Add folds one part in.
func (b *SKANReportBuilder) Add(p SKANReportPart) {
	if b.idx == nil {
		b.idx = map[string]int{}
	}
	k := p.AdNetworkID + "\x1f" + p.CampaignKey + "\x1f" + strconv.FormatInt(p.Seq, 10)
	i, ok := b.idx[k]
	if !ok {
		i = len(b.rows)
		b.idx[k] = i
		b.rows = append(b.rows, SKANReportRow{AdNetworkID: p.AdNetworkID, CampaignKey: p.CampaignKey, PostbackSequenceIndex: p.Seq})
	}
	r := &b.rows[i]
	if p.ConversionValue >= 0 && p.ConversionValue < 64 {
		r.ConversionValues[p.ConversionValue] += p.N
	}
	r.Installs += p.Installs
	r.Redownloads += p.Redownloads
	r.NonWinning += p.NonWinning
	r.Reengagements += p.Reengagements
	r.NullConversionValues += p.NullConversionValues
	r.Coarse[0] += p.Low
	r.Coarse[1] += p.Medium
	r.Coarse[2] += p.High
	r.InvalidSignatures += p.InvalidSignatures
}

// Rows returns the rows, ordered by ad network, campaign key and sequence index; an
// empty, non-nil slice when there are none.
func (b *SKANReportBuilder) Rows() []SKANReportRow {
	out := append([]SKANReportRow{}, b.rows...)
	slices.SortFunc(out, func(x, y SKANReportRow) int {
		return cmp.Or(cmp.Compare(x.AdNetworkID, y.AdNetworkID), cmp.Compare(x.CampaignKey, y.CampaignKey),
			cmp.Compare(x.PostbackSequenceIndex, y.PostbackSequenceIndex))
	})
	return out
}

// MicroRange is [from, to) in Unix microseconds, a zero bound unbounded: how the stores
// compare SKAN postbacks' receive times.
func MicroRange(from, to time.Time) (int64, int64) {
	f, t := int64(math.MinInt64), int64(math.MaxInt64)
	if !from.IsZero() {
		f = from.UnixMicro()
	}
	if !to.IsZero() {
		t = to.UnixMicro()
	}
	return f, t
}
