package fx_test

import (
	"bytes"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/fx"
)

func date(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestConvert(t *testing.T) {
	tab, err := fx.NewTable([]unmogrowp.FXRates{
		{Date: "2024-03-01", Base: "USD", Rates: map[string]float64{"EUR": 0.5, "JPY": 150}},
		{Date: "2024-03-05", Base: "eur", Rates: map[string]float64{"usd": 1.25}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	for _, c := range []struct {
		name     string
		amount   float64
		from, to string
		date     time.Time
		want     float64
		ok       bool
	}{
		{"same currency without rates", 3, "XYZ", "XYZ", date("1999-01-01"), 3, true},
		{"base to quote", 10, "USD", "EUR", date("2024-03-01"), 5, true},
		{"quote to base", 10, "EUR", "USD", date("2024-03-01"), 20, true},
		{"cross rate", 300, "JPY", "EUR", date("2024-03-01"), 1, true},
		{"own date first", 10, "EUR", "USD", date("2024-03-05"), 12.5, true},
		{"earlier date within 7 days", 10, "USD", "EUR", date("2024-03-07"), 8, true},
		{"nearest earlier date that has the pair", 10, "JPY", "USD", date("2024-03-06"), 10.0 / 150, true},
		{"7 days before", 150, "JPY", "USD", date("2024-03-08"), 1, true},
		{"8 days after the last rate of the pair", 150, "JPY", "USD", date("2024-03-09"), 0, false},
		{"a later rate does not apply", 10, "USD", "EUR", date("2024-02-29"), 0, false},
		{"unknown currency", 10, "GBP", "USD", date("2024-03-01"), 0, false},
		{"the date read in its own zone", 10, "USD", "EUR", time.Date(2024, 3, 1, 1, 0, 0, 0, tokyo), 5, true},
		{"the day before in its own zone", 10, "USD", "EUR", time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC).In(time.FixedZone("W", -9*3600)), 0, false},
	} {
		got, ok := tab.Convert(c.amount, c.from, c.to, c.date)
		if ok != c.ok || math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: Convert(%v %s→%s at %v) = %v, %v; want %v, %v", c.name, c.amount, c.from, c.to, c.date, got, ok, c.want, c.ok)
		}
	}
	var none *fx.Table
	if v, ok := none.Convert(2, "EUR", "EUR", date("2024-01-01")); v != 2 || !ok {
		t.Errorf("nil table, same currency: %v %v", v, ok)
	}
	if _, ok := none.Convert(2, "EUR", "USD", date("2024-01-01")); ok {
		t.Error("nil table converted EUR to USD")
	}
}

func TestNewTableInvalid(t *testing.T) {
	for name, r := range map[string]unmogrowp.FXRates{
		"date":          {Date: "2024-3-1", Base: "USD", Rates: map[string]float64{"EUR": 1}},
		"base":          {Date: "2024-03-01", Base: "US", Rates: map[string]float64{"EUR": 1}},
		"unknown code":  {Date: "2024-03-01", Base: "USD", Rates: map[string]float64{"QQQ": 1}},
		"zero rate":     {Date: "2024-03-01", Base: "USD", Rates: map[string]float64{"EUR": 0}},
		"no rates":      {Date: "2024-03-01", Base: "USD"},
		"infinite rate": {Date: "2024-03-01", Base: "USD", Rates: map[string]float64{"EUR": math.Inf(1)}},
	} {
		if _, err := fx.NewTable([]unmogrowp.FXRates{r}); unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
			t.Errorf("%s: err = %v, want EINVALID", name, err)
		}
	}
}

func TestReadECB(t *testing.T) {
	f, err := os.Open("testdata/eurofxref-hist.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rates, err := fx.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(rates) != 4 {
		t.Fatalf("%d dates, want 4", len(rates))
	}
	r := rates[2]
	if r.Date != "2024-01-03" || r.Base != "EUR" || r.Rates["JPY"] != 156.82 || len(r.Rates) != 4 {
		t.Errorf("2024-01-03 = %+v; want base EUR, 4 rates (no CYP, no ISK), JPY 156.82", r)
	}
	if rates[3].Rates["CYP"] != 0.585274 {
		t.Errorf("historic CYP rate = %v", rates[3].Rates["CYP"])
	}
	tab, err := fx.NewTable(rates)
	if err != nil {
		t.Fatal(err)
	}
	// USD to JPY through EUR on a Saturday: the Friday's rates.
	got, ok := tab.Convert(1, "USD", "JPY", date("2024-01-06"))
	if !ok || math.Abs(got-158.08/1.0921) > 1e-9 {
		t.Errorf("1 USD on Saturday = %v JPY, %v; want %v", got, ok, 158.08/1.0921)
	}
}

func TestReadErrors(t *testing.T) {
	for name, c := range map[string]struct{ in, want string }{
		"empty":           {"  \n", "empty"},
		"bad date":        {"Date,USD\n2024-01-05,1.09\n5 Jan 2024,1.1\n", "line 3, column Date"},
		"bad rate":        {"Date,USD,JPY\n2024-01-05,1.09,abc\n", "line 2, column JPY"},
		"negative rate":   {"Date,USD\n2024-01-05,-1\n", "line 2, column USD"},
		"bad currency":    {"Date,USD,ZZZ\n", "line 1, column 3"},
		"no date column":  {"USD,JPY\n", "line 1"},
		"extra values":    {"Date,USD\n2024-01-05,1,2\n", "line 2"},
		"json bad line":   {`{"date":"2024-01-01","base":"USD","rates":{"EUR":0.9}}` + "\n\n" + `{"date":"2024-01-02","base":"USD","rates":{"EUR":-1}}`, "line 3: rates.EUR"},
		"json unknown":    {`{"date":"2024-01-01","base":"USD","rates":{"EUR":0.9},"x":1}`, "line 1"},
		"json trailing":   {`{"date":"2024-01-01","base":"USD","rates":{"EUR":0.9}} {}`, "more data"},
		"json wrong type": {`{"date":"2024-01-01","base":"USD","rates":{"EUR":"0.9"}}`, "line 1"},
	} {
		_, err := fx.Read(strings.NewReader(c.in))
		if unmogrowp.ErrorCode(err) != unmogrowp.EINVALID || !strings.Contains(unmogrowp.ErrorMessage(err), c.want) {
			t.Errorf("%s: err = %v, want EINVALID saying %q", name, err, c.want)
		}
	}
}

func TestReadJSONLines(t *testing.T) {
	in := `{"date":"2024-01-01","base":"usd","rates":{"eur":0.9,"JPY":140}}` + "\n\n" +
		`{"date":"2024-01-02","base":"USD","rates":{"EUR":0.91}}` + "\n"
	rates, err := fx.Read(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(rates) != 2 || rates[0].Base != "USD" || rates[0].Rates["EUR"] != 0.9 || rates[1].Rates["EUR"] != 0.91 {
		t.Errorf("rates = %+v", rates)
	}
}

// FuzzRead feeds any file to Read: it returns rates that NewTable accepts, or an EINVALID
// error, never panics.
func FuzzRead(f *testing.F) {
	b, _ := os.ReadFile("testdata/eurofxref-hist.csv")
	f.Add(b)
	f.Add([]byte(`{"date":"2024-01-01","base":"USD","rates":{"EUR":0.9}}`))
	f.Add([]byte("Date,USD\n\"2024-01-01,1\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		rates, err := fx.Read(bytes.NewReader(in))
		if err != nil {
			if unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
				t.Fatalf("err = %v, want EINVALID", err)
			}
			return
		}
		if _, err := fx.NewTable(rates); err != nil {
			t.Fatalf("Read gave rates NewTable refuses: %v", err)
		}
	})
}
