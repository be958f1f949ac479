package unmogrowp_test

import (
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/fx"
)

// TestMoney: the same currency sums as is; another converts at the day's rate or counts as
// unconverted; a scope without currency sums everything as stored.
func TestMoney(t *testing.T) {
	rates, err := fx.NewTable([]unmogrowp.FXRates{{Date: "2026-03-06", Base: "EUR", Rates: map[string]float64{"USD": 2}}})
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC)
	m := unmogrowp.NewMoney(unmogrowp.ReportScope{Currency: "EUR", Rates: rates})
	if v, ok := m.Convert(10, 3, "EUR", day); v != 10 || !ok {
		t.Errorf("EUR: %v %v", v, ok)
	}
	if v, ok := m.Convert(10, 3, "USD", day); v != 5 || !ok {
		t.Errorf("USD: %v %v", v, ok)
	}
	if v, ok := m.Convert(10, 3, "GBP", day); v != 0 || ok || m.Unconverted != 3 {
		t.Errorf("GBP: %v %v, %d unconverted; want 3 unconverted", v, ok, m.Unconverted)
	}
	raw := unmogrowp.NewMoney(unmogrowp.ReportScope{})
	if v, ok := raw.Convert(7, 1, "GBP", day); v != 7 || !ok {
		t.Errorf("no currency: %v %v", v, ok)
	}
}
