package storetest

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// SKANEventStore is what RunSKAN tests: an analytics store that keeps SKAN postbacks.
type SKANEventStore interface {
	unmogrowp.EventStore
	unmogrowp.SKANStore
}

// RunSKAN runs the conformance suite of unmogrowp.SKANStore, with its golden answers:
// deduplication (Apple's copy wins, cv_mismatch), the postbacks' paging, and the report's
// every column. open must return a fresh, empty store each time.
func RunSKAN(t *testing.T, open func(t *testing.T) SKANEventStore) {
	t.Run("Postbacks", func(t *testing.T) { t.Parallel(); testSKANPostbacks(t, open(t)) })
	t.Run("Report", func(t *testing.T) { t.Parallel(); testSKANReport(t, open(t)) })
}

// skanBase is the fixture's time origin.
var skanBase = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// skanPostback returns a valid production SKAdNetwork 4.0 postback of app-skan at
// partition 0, offset off, received off hours after skanBase, with every absent number
// Absent.
func skanPostback(off int64, net, source, txn string) unmogrowp.SKANPostback {
	return unmogrowp.SKANPostback{
		Partition: 0, Offset: off, ID: fmt.Sprintf("id-%d", off), AppID: "app-skan", Kind: unmogrowp.SKANKindSKAN,
		Version: "4.0", AdNetworkID: net, SourceIdentifier: source, CampaignID: unmogrowp.Absent,
		AppStoreID: 525463029, SourceAppID: unmogrowp.Absent, PublisherItemIdentifier: unmogrowp.Absent,
		TransactionID: txn, PostbackSequenceIndex: 0, DidWin: 1, Redownload: 0, FidelityType: 1,
		ConversionValue: unmogrowp.Absent, Signature: unmogrowp.SignatureValid,
		Environment: unmogrowp.EnvironmentProduction, ReceivedAt: skanBase.Add(time.Duration(off) * time.Hour),
	}
}

// skanFixture is the postbacks the suite stores, named by letter (see each's comment),
// and which of them the reads answer.
func skanFixture() map[string]unmogrowp.SKANPostback {
	m := map[string]unmogrowp.SKANPostback{}
	a := skanPostback(1, "net.a", "5239", "t1") // a network's copy, cv 63
	a.ConversionValue = 63
	m["A"] = a
	a2 := skanPostback(2, "net.a", "5239", "t1") // Apple's copy of A, cv 20: wins, cv_mismatch
	a2.FromApple, a2.ConversionValue = true, 20
	m["A2"] = a2
	b := skanPostback(3, "net.a", "", "t2") // 3.0 redownload, no value
	b.Version, b.CampaignID, b.Redownload, b.PostbackSequenceIndex = "3.0", 42, 1, unmogrowp.Absent
	m["B"] = b
	c := skanPostback(4, "net.a", "", "t3") // 3.0 non-winning
	c.Version, c.CampaignID, c.DidWin, c.PostbackSequenceIndex = "3.0", 42, 0, unmogrowp.Absent
	m["C"] = c
	d := skanPostback(5, "net.b", "39", "t4") // second postback, coarse high
	d.PostbackSequenceIndex, d.CoarseConversionValue = 1, "high"
	m["D"] = d
	e := skanPostback(6, "net.b", "39", "t5") // invalid signature, cv 5
	e.Signature, e.ConversionValue = unmogrowp.SignatureInvalid, 5
	m["E"] = e
	f := skanPostback(7, "net.b", "39", "") // AdAttributionKit re-engagement, cv 7
	f.Kind, f.Version, f.PostbackIdentifier, f.ConversionType, f.Redownload, f.FidelityType, f.ConversionValue =
		unmogrowp.SKANKindAAK, "", "p1", "re-engagement", unmogrowp.Absent, unmogrowp.Absent, 7
	m["F"] = f
	g := f // AdAttributionKit development download, cv 9
	g.Offset, g.ID, g.ReceivedAt, g.PostbackIdentifier, g.ConversionType, g.Redownload, g.ConversionValue, g.Environment =
		8, "id-8", skanBase.Add(8*time.Hour), "p2", "download", 0, 9, unmogrowp.EnvironmentDevelopment
	m["G"] = g
	h := skanPostback(9, "net.a", "", "t6") // 2.0: unsupported
	h.Version, h.CampaignID, h.Signature, h.PostbackSequenceIndex, h.DidWin = "2.0", 42, unmogrowp.SignatureUnsupported, unmogrowp.Absent, unmogrowp.Absent
	m["H"] = h
	o := skanPostback(10, "net.a", "5239", "t1") // another app's, same transaction
	o.AppID = "app-other"
	m["other"] = o
	late := skanPostback(48, "net.a", "5239", "t7") // out of the range
	m["late"] = late
	return m
}

func appendSKANFixture(t *testing.T, s SKANEventStore) map[string]unmogrowp.SKANPostback {
	t.Helper()
	m := skanFixture()
	// Two batches, in log order, the network's copy of A before Apple's.
	var first, second []unmogrowp.SKANPostback
	for _, k := range []string{"A", "B", "C", "D"} {
		first = append(first, m[k])
	}
	for _, k := range []string{"A2", "E", "F", "G", "H", "other", "late"} {
		second = append(second, m[k])
	}
	ctx := context.Background()
	for _, b := range [][]unmogrowp.SKANPostback{first, second} {
		if err := s.Append(ctx, unmogrowp.Batch{SKAN: b}); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	if wm, err := s.Watermarks(ctx); err != nil || wm[0] != 48 {
		t.Fatalf("watermarks %v, %v: want partition 0 at 48", wm, err)
	}
	return m
}

// testSKANPostbacks: one row per postback, Apple's copy winning with cv_mismatch, newest
// first, paged without overlap, every field as stored.
func testSKANPostbacks(t *testing.T, s SKANEventStore) {
	ctx := context.Background()
	m := appendSKANFixture(t, s)
	f := unmogrowp.SKANFilter{AppID: "app-skan", From: skanBase, To: skanBase.Add(24 * time.Hour)}
	all, next, err := s.SKANPostbacks(ctx, f)
	if err != nil || next != "" {
		t.Fatalf("SKANPostbacks: next %q, %v", next, err)
	}
	var want []unmogrowp.StoredSKANPostback
	for _, k := range []string{"H", "G", "F", "E", "D", "C", "B", "A2"} {
		want = append(want, unmogrowp.StoredSKANPostback{SKANPostback: m[k], CVMismatch: k == "A2"})
	}
	if !reflect.DeepEqual(all, want) {
		t.Fatalf("postbacks:\n got %+v\nwant %+v", all, want)
	}
	f.Limit = 3
	var paged []unmogrowp.StoredSKANPostback
	for pages := 0; ; pages++ {
		page, next, err := s.SKANPostbacks(ctx, f)
		if err != nil || len(page) > 3 || pages > 3 {
			t.Fatalf("page %d: %d rows, %v", pages, len(page), err)
		}
		paged = append(paged, page...)
		if next == "" {
			break
		}
		f.Cursor = next
	}
	if !reflect.DeepEqual(paged, want) {
		t.Fatalf("paged postbacks differ from the whole list: %+v", paged)
	}
	if _, _, err := s.SKANPostbacks(ctx, unmogrowp.SKANFilter{AppID: "app-skan", Cursor: "nonsense"}); unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
		t.Fatalf("bad cursor: %v", err)
	}
	other, _, err := s.SKANPostbacks(ctx, unmogrowp.SKANFilter{AppID: "app-other"})
	if err != nil || len(other) != 1 || other[0].CVMismatch || other[0].ID != "id-10" {
		t.Fatalf("the other app's postbacks: %+v %v", other, err)
	}
	unbounded, _, err := s.SKANPostbacks(ctx, unmogrowp.SKANFilter{AppID: "app-skan"})
	if err != nil || len(unbounded) != 9 || unbounded[0].ID != "id-48" {
		t.Fatalf("unbounded list: %d rows, %v", len(unbounded), err)
	}
}

// testSKANReport: the golden report of the fixture, without and with development
// postbacks.
func testSKANReport(t *testing.T, s SKANEventStore) {
	ctx := context.Background()
	appendSKANFixture(t, s)
	hist := func(kv ...int64) (h [64]int64) {
		for i := 0; i+1 < len(kv); i += 2 {
			h[kv[i]] = kv[i+1]
		}
		return h
	}
	want := []unmogrowp.SKANReportRow{
		{AdNetworkID: "net.a", CampaignKey: "42", Redownloads: 1, NonWinning: 1, NullConversionValues: 2},
		{AdNetworkID: "net.a", CampaignKey: "5239", Installs: 1, ConversionValues: hist(20, 1)},
		{AdNetworkID: "net.b", CampaignKey: "39", Reengagements: 1, ConversionValues: hist(7, 1), InvalidSignatures: 1},
		{AdNetworkID: "net.b", CampaignKey: "39", PostbackSequenceIndex: 1, Coarse: [3]int64{0, 0, 1}},
	}
	got, err := s.SKANReport(ctx, "app-skan", skanBase, skanBase.Add(24*time.Hour), false)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("report:\n got %+v %v\nwant %+v", got, err, want)
	}
	want[2].Installs, want[2].ConversionValues = 1, hist(7, 1, 9, 1)
	got, err = s.SKANReport(ctx, "app-skan", skanBase, skanBase.Add(24*time.Hour), true)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("report with development postbacks:\n got %+v %v\nwant %+v", got, err, want)
	}
	got, err = s.SKANReport(ctx, "app-none", skanBase, skanBase.Add(24*time.Hour), false)
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("report of an app without postbacks: %+v %v", got, err)
	}
}
