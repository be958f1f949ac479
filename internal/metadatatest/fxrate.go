package metadatatest

import (
	"context"
	"reflect"
	"testing"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// RunFXRateStore runs the conformance suite of unmogrowp.FXRateStore against stores that
// open returns, each empty.
func RunFXRateStore(t *testing.T, open func(t *testing.T) unmogrowp.FXRateStore) {
	t.Run("PutAndGet", func(t *testing.T) { t.Parallel(); testFXPutAndGet(t, open(t)) })
	t.Run("PutReplacesDate", func(t *testing.T) { t.Parallel(); testFXReplace(t, open(t)) })
	t.Run("PutInvalidStoresNothing", func(t *testing.T) { t.Parallel(); testFXInvalid(t, open(t)) })
	t.Run("AllAndVersion", func(t *testing.T) { t.Parallel(); testFXAll(t, open(t)) })
}

func testFXPutAndGet(t *testing.T, s unmogrowp.FXRateStore) {
	ctx := context.Background()
	_, err := s.FXRates(ctx, "2024-01-02")
	wantCode(t, err, unmogrowp.ENOTFOUND)
	_, err = s.FXRates(ctx, "2024-1-2")
	wantMessage(t, err, unmogrowp.EINVALID, "date")
	in := unmogrowp.FXRates{Date: "2024-01-02", Base: "usd", Rates: map[string]float64{"eur": 0.9125, "JPY": 141.5}}
	if err := s.PutFXRates(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := s.FXRates(ctx, "2024-01-02")
	if err != nil {
		t.Fatal(err)
	}
	want := &unmogrowp.FXRates{Date: "2024-01-02", Base: "USD", Rates: map[string]float64{"EUR": 0.9125, "JPY": 141.5}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FXRates = %+v, want %+v (codes upper-cased, rates exact)", got, want)
	}
}

func testFXReplace(t *testing.T, s unmogrowp.FXRateStore) {
	ctx := context.Background()
	if err := s.PutFXRates(ctx, unmogrowp.FXRates{Date: "2024-01-02", Base: "USD", Rates: map[string]float64{"EUR": 0.9, "JPY": 140}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutFXRates(ctx, unmogrowp.FXRates{Date: "2024-01-02", Base: "EUR", Rates: map[string]float64{"USD": 1.1}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.FXRates(ctx, "2024-01-02")
	if err != nil {
		t.Fatal(err)
	}
	if want := (&unmogrowp.FXRates{Date: "2024-01-02", Base: "EUR", Rates: map[string]float64{"USD": 1.1}}); !reflect.DeepEqual(got, want) {
		t.Errorf("after a second put of the date: %+v, want only the second's rates %+v", got, want)
	}
}

func testFXInvalid(t *testing.T, s unmogrowp.FXRateStore) {
	ctx := context.Background()
	v0, err := s.FXRatesVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = s.PutFXRates(ctx,
		unmogrowp.FXRates{Date: "2024-01-02", Base: "USD", Rates: map[string]float64{"EUR": 0.9}},
		unmogrowp.FXRates{Date: "2024-01-03", Base: "USD", Rates: map[string]float64{"EUR": -1}})
	wantMessage(t, err, unmogrowp.EINVALID, "rates.EUR")
	_, err = s.FXRates(ctx, "2024-01-02")
	wantCode(t, err, unmogrowp.ENOTFOUND)
	if v, _ := s.FXRatesVersion(ctx); v != v0 {
		t.Errorf("version %d after a refused put, want %d", v, v0)
	}
}

func testFXAll(t *testing.T, s unmogrowp.FXRateStore) {
	ctx := context.Background()
	all, v0, err := s.AllFXRates(ctx)
	if err != nil || len(all) != 0 {
		t.Fatalf("empty store: %v, %v", all, err)
	}
	in := []unmogrowp.FXRates{
		{Date: "2024-01-03", Base: "EUR", Rates: map[string]float64{"USD": 1.09}},
		{Date: "2023-12-29", Base: "USD", Rates: map[string]float64{"EUR": 0.9, "GBP": 0.8}},
	}
	if err := s.PutFXRates(ctx, in...); err != nil {
		t.Fatal(err)
	}
	all, v1, err := s.AllFXRates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []unmogrowp.FXRates{in[1], in[0]}; !reflect.DeepEqual(all, want) {
		t.Errorf("AllFXRates = %+v, want oldest first %+v", all, want)
	}
	if v1 == v0 {
		t.Errorf("version %d unchanged by a put", v1)
	}
	if v, err := s.FXRatesVersion(ctx); err != nil || v != v1 {
		t.Errorf("FXRatesVersion = %d, %v; want %d as AllFXRates said", v, err, v1)
	}
}
