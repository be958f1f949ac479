package unmogrowp

import (
	"testing"
	"time"
)

func sampleSKAN() SKANPostback {
	return SKANPostback{
		ID: "abc", AppID: "app_1", Kind: SKANKindSKAN, FromApple: true, Version: "4.0",
		AdNetworkID: "com.example", SourceIdentifier: "5239", CampaignID: Absent, AppStoreID: 525463029,
		SourceAppID: Absent, SourceDomain: "example.com", PublisherItemIdentifier: Absent,
		TransactionID: "t-1", PostbackSequenceIndex: 0, DidWin: 1, Redownload: 0, FidelityType: 1,
		ConversionValue: 63, CoarseConversionValue: "high", CountryCode: "US",
		Signature: SignatureValid, Environment: EnvironmentProduction,
		ReceivedAt: time.Date(2026, 3, 1, 12, 0, 0, 123000, time.UTC),
	}
}

func TestSKANRecordRoundTrip(t *testing.T) {
	p := sampleSKAN()
	b := EncodeSKANRecord(nil, &p)
	var got SKANPostback
	if err := DecodeSKANRecord(b, &got); err != nil {
		t.Fatal(err)
	}
	if got != p {
		t.Fatalf("got  %+v\nwant %+v", got, p)
	}
	for i := range len(b) {
		if err := DecodeSKANRecord(b[:i], &got); err == nil {
			t.Fatalf("a record cut at %d decoded", i)
		}
	}
	if err := DecodeSKANRecord(append(b, 0), &got); err == nil {
		t.Fatal("trailing bytes decoded")
	}
}

func TestSKANKeys(t *testing.T) {
	p := sampleSKAN()
	q := p
	q.PostbackSequenceIndex = Absent
	if p.DedupKey() != q.DedupKey() {
		t.Fatal("an absent sequence index is not 0")
	}
	q.ConversionValue = 1
	q.FromApple = false
	if p.DedupKey() != q.DedupKey() {
		t.Fatal("the copies' dedup keys differ")
	}
	a := SKANPostback{Kind: SKANKindAAK, PostbackIdentifier: "x"}
	if a.DedupKey() == p.DedupKey() || p.CampaignKey() != "5239" {
		t.Fatal("keys")
	}
	p.SourceIdentifier, p.CampaignID = "", 42
	if p.CampaignKey() != "42" {
		t.Fatal("campaign key of a campaign id")
	}
}

func FuzzDecodeSKANRecord(f *testing.F) {
	p := sampleSKAN()
	f.Add(EncodeSKANRecord(nil, &p))
	f.Add([]byte{RecordSKAN})
	f.Fuzz(func(t *testing.T, b []byte) {
		var p SKANPostback
		if DecodeSKANRecord(b, &p) != nil {
			return
		}
		again := EncodeSKANRecord(nil, &p)
		var q SKANPostback
		if err := DecodeSKANRecord(again, &q); err != nil || q != p {
			t.Fatalf("re-encoding changed the record: %v", err)
		}
	})
}
