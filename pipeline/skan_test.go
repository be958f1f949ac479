package pipeline_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/pipeline"
	"github.com/unmogrowp/unmogrowp/skan"
)

// skanCopy returns a valid SKAdNetwork 4.0 postback of app-skan, transaction txn, as
// Apple's copy or a network's.
func skanCopy(txn string, fromApple bool, cv int64) unmogrowp.SKANPostback {
	return unmogrowp.SKANPostback{
		ID: fmt.Sprintf("%s-%v", txn, fromApple), AppID: "app-skan", Kind: unmogrowp.SKANKindSKAN, FromApple: fromApple,
		Version: "4.0", AdNetworkID: "net.a", SourceIdentifier: "5239", CampaignID: -1, AppStoreID: 525463029,
		SourceAppID: -1, PublisherItemIdentifier: -1, TransactionID: txn, PostbackSequenceIndex: 0, DidWin: 1,
		FidelityType: 1, ConversionValue: cv, Signature: unmogrowp.SignatureValid, Environment: unmogrowp.EnvironmentProduction,
		ReceivedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
	}
}

// TestSKANStoredOnceAcrossReplay: SKAN records go through the pipeline into the store,
// every copy; a crash before the commit replays them and nothing is stored twice; the
// second copy of a postback is counted a duplicate; the store answers one postback per
// transaction, Apple's copy, with the mismatch flagged.
func TestSKANStoredOnceAcrossReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var values [][]byte
	for i := range 50 {
		p := skanCopy(fmt.Sprintf("t%02d", i), false, 10)
		values = append(values, unmogrowp.EncodeSKANRecord(nil, &p))
	}
	apple := skanCopy("t00", true, 20)
	values = append(values, unmogrowp.EncodeSKANRecord(nil, &apple))
	e.appendRaw("app-skan", values...)

	reg := prometheus.NewRegistry()
	reader := &noCommit{LogReader: e.wal}
	r := start(t, reader, e.dedup, e.store, pipeline.Options{BatchSize: 20, Registerer: reg})
	r.waitRecords(t, 51)
	r.stop(t)
	if n := testutil.ToFloat64(skan.Counter(reg).WithLabelValues("skan", skan.ResultDuplicate)); n != 1 {
		t.Fatalf("duplicates counted %v, want 1", n)
	}
	e.reopen()
	r = start(t, e.wal, e.dedup, e.store, pipeline.Options{BatchSize: 20})
	r.waitRecords(t, 51)
	if st := r.p.Stats(); st.AlreadyStored != 51 {
		t.Fatalf("stats after restart %+v, want 51 already stored", st)
	}
	got, _, err := e.store.SKANPostbacks(context.Background(), unmogrowp.SKANFilter{AppID: "app-skan"})
	if err != nil || len(got) != 50 {
		t.Fatalf("stored postbacks: %d, %v; want 50", len(got), err)
	}
	for _, p := range got {
		if p.TransactionID == "t00" && (!p.FromApple || !p.CVMismatch || p.ConversionValue != 20) {
			t.Fatalf("t00 answered %+v, want Apple's copy with cv_mismatch", p)
		}
	}
	rows, err := e.store.SKANReport(context.Background(), "app-skan", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), false)
	if err != nil || len(rows) != 1 || rows[0].Installs != 50 || rows[0].ConversionValues[10] != 49 || rows[0].ConversionValues[20] != 1 {
		t.Fatalf("report after replay: %+v %v", rows, err)
	}
}
