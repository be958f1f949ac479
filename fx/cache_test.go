package fx_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/fx"
	"github.com/unmogrowp/unmogrowp/metadata"
)

// TestCache reads rates through a cache on a real SQLite store: it keeps the table while
// the store's version stays, and reads the rates again once another writer loads some.
func TestCache(t *testing.T) {
	ctx := context.Background()
	db, err := metadata.Open(ctx, metadata.SQLiteURL(filepath.Join(t.TempDir(), "m.db")), metadata.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c := fx.NewCache(db)
	t0, err := c.Table(ctx)
	if err != nil || t0.Dates() != 0 {
		t.Fatalf("empty store: %d dates, %v", t0.Dates(), err)
	}
	if err := db.PutFXRates(ctx, unmogrowp.FXRates{Date: "2024-01-02", Base: "EUR", Rates: map[string]float64{"USD": 1.1}}); err != nil {
		t.Fatal(err)
	}
	t1, err := c.Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := t1.Convert(11, "USD", "EUR", date("2024-01-03")); !ok || v != 10 {
		t.Errorf("after a load: 11 USD = %v EUR, %v; want 10", v, ok)
	}
	if t2, _ := c.Table(ctx); t2 != t1 {
		t.Error("the cache read the rates again though the version did not change")
	}
}
