package metadatatest

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// CostStoreWithApps is what RunCostStore tests: a cost store, and the app store that its
// costs belong to.
type CostStoreWithApps interface {
	unmogrowp.AppStore
	unmogrowp.CostStore
}

// RunCostStore runs the conformance suite of unmogrowp.CostStore. open must return a
// fresh, empty store, isolated from the others (the subtests run in parallel), each time
// it is called, and close it when t ends.
func RunCostStore(t *testing.T, open func(t *testing.T) CostStoreWithApps) {
	t.Run("PutAndList", func(t *testing.T) { t.Parallel(); testCostPutAndList(t, open(t)) })
	t.Run("Upsert", func(t *testing.T) { t.Parallel(); testCostUpsert(t, open(t)) })
	t.Run("InvalidStoresNothing", func(t *testing.T) { t.Parallel(); testCostInvalid(t, open(t)) })
	t.Run("Tenancy", func(t *testing.T) { t.Parallel(); testCostTenancy(t, open(t)) })
	t.Run("Many", func(t *testing.T) { t.Parallel(); testCostMany(t, open(t)) })
}

func putCosts(t *testing.T, s unmogrowp.CostStore, appID string, costs ...unmogrowp.Cost) {
	t.Helper()
	if err := s.PutCosts(context.Background(), appID, costs); err != nil {
		t.Fatalf("PutCosts: %v", err)
	}
}

func listCosts(t *testing.T, s unmogrowp.CostStore, appID, from, to string) []unmogrowp.Cost {
	t.Helper()
	got, err := s.Costs(context.Background(), appID, from, to)
	if err != nil {
		t.Fatalf("Costs(%q, %q): %v", from, to, err)
	}
	if got == nil {
		t.Fatalf("Costs(%q, %q) = nil, want a non-nil slice", from, to)
	}
	return got
}

func wantCosts(t *testing.T, got, want []unmogrowp.Cost) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("costs =\n%+v\nwant\n%+v", got, want)
	}
}

// Rows come back whole, ordered by key, and from and to bound the dates inclusively.
func testCostPutAndList(t *testing.T, s CostStoreWithApps) {
	app := newApp(t, s, "Cost")
	rows := []unmogrowp.Cost{
		{Date: "2026-03-03", MediaSource: "tiktok", Cost: 12.5, Currency: "eur", Impressions: 1000, Clicks: 30},
		{Date: "2026-03-02", MediaSource: "fb", Campaign: "c'1; DROP TABLE costs; --", Adset: "a", Ad: "ad", Country: "DE", Cost: 0.125, Currency: "USD", Impressions: 1 << 40, Clicks: 7},
		{Date: "2026-03-02", MediaSource: "fb", Campaign: "Grüße 東京", Cost: 1e9, Currency: "JPY"},
		{Date: "2026-03-05", MediaSource: "fb", Cost: 0, Currency: "USD"},
	}
	putCosts(t, s, app, rows...)
	want := []unmogrowp.Cost{rows[2], rows[1], rows[0], rows[3]} // Grüße sorts after c' by bytes
	want[2].Currency = "EUR"                                     // upper-cased
	wantCosts(t, listCosts(t, s, app, "", ""), want)
	wantCosts(t, listCosts(t, s, app, "2026-03-03", ""), want[2:])
	wantCosts(t, listCosts(t, s, app, "", "2026-03-03"), want[:3])
	wantCosts(t, listCosts(t, s, app, "2026-03-03", "2026-03-03"), want[2:3])
	wantCosts(t, listCosts(t, s, app, "2026-03-04", "2026-03-04"), nil)
	// The caller's rows are not changed.
	if rows[0].Currency != "eur" {
		t.Errorf("PutCosts changed the caller's row: %+v", rows[0])
	}
	if err := s.PutCosts(context.Background(), app, nil); err != nil {
		t.Errorf("no rows: %v", err)
	}
}

// A row with the key of a stored one replaces it, a later row of a request an earlier one
// of the same key, and a row whose key differs in any part is another row.
func testCostUpsert(t *testing.T, s CostStoreWithApps) {
	app := newApp(t, s, "Upsert")
	base := unmogrowp.Cost{Date: "2026-03-02", MediaSource: "fb", Campaign: "c", Adset: "a", Ad: "d", Country: "US", Cost: 1, Currency: "USD", Impressions: 10, Clicks: 1}
	putCosts(t, s, app, base)
	again := base
	again.Cost, again.Currency, again.Impressions, again.Clicks = 2, "EUR", 20, 2
	last := again
	last.Cost = 3
	other := base
	other.Country = "DE"
	putCosts(t, s, app, again, other, last)
	want := []unmogrowp.Cost{other, last}
	wantCosts(t, listCosts(t, s, app, "", ""), want)
	for i, change := range []func(c *unmogrowp.Cost){
		func(c *unmogrowp.Cost) { c.Date = "2026-03-03" },
		func(c *unmogrowp.Cost) { c.MediaSource = "gg" },
		func(c *unmogrowp.Cost) { c.Campaign = "" },
		func(c *unmogrowp.Cost) { c.Adset = "b" },
		func(c *unmogrowp.Cost) { c.Ad = "" },
	} {
		c := base
		change(&c)
		putCosts(t, s, app, c)
		if n := len(listCosts(t, s, app, "", "")); n != 3+i {
			t.Fatalf("after key change %d: %d rows, want %d", i, n, 3+i)
		}
	}
}

// An invalid row refuses the whole request, naming the row and the column; an unknown
// app is not found.
func testCostInvalid(t *testing.T, s CostStoreWithApps) {
	ctx := context.Background()
	app := newApp(t, s, "Invalid")
	good := unmogrowp.Cost{Date: "2026-03-02", MediaSource: "fb", Cost: 1, Currency: "USD"}
	for column, bad := range map[string]unmogrowp.Cost{
		"date":         {Date: "2026-02-30", MediaSource: "fb", Cost: 1, Currency: "USD"},
		"media_source": {Date: "2026-03-02", Cost: 1, Currency: "USD"},
		"cost":         {Date: "2026-03-02", MediaSource: "fb", Cost: -1, Currency: "USD"},
		"currency":     {Date: "2026-03-02", MediaSource: "fb", Cost: 1, Currency: "US"},
		"clicks":       {Date: "2026-03-02", MediaSource: "fb", Cost: 1, Currency: "USD", Clicks: -1},
		"campaign":     {Date: "2026-03-02", MediaSource: "fb", Campaign: "a\x00b", Cost: 1, Currency: "USD"},
	} {
		err := s.PutCosts(ctx, app, []unmogrowp.Cost{good, good, bad})
		wantMessage(t, err, unmogrowp.EINVALID, "costs[2]", column)
	}
	wantCosts(t, listCosts(t, s, app, "", ""), nil)
	wantCode(t, s.PutCosts(ctx, "app_nosuchapp", []unmogrowp.Cost{good}), unmogrowp.ENOTFOUND)
	wantCode(t, s.PutCosts(ctx, "app\x00", []unmogrowp.Cost{good}), unmogrowp.ENOTFOUND)
}

// An app sees only its own rows, and its rows go with it.
func testCostTenancy(t *testing.T, s CostStoreWithApps) {
	ctx := context.Background()
	a, b := newApp(t, s, "A"), newApp(t, s, "B")
	row := unmogrowp.Cost{Date: "2026-03-02", MediaSource: "fb", Cost: 1, Currency: "USD"}
	putCosts(t, s, a, row)
	other := row
	other.Cost = 2
	putCosts(t, s, b, other)
	wantCosts(t, listCosts(t, s, a, "", ""), []unmogrowp.Cost{row})
	wantCosts(t, listCosts(t, s, b, "", ""), []unmogrowp.Cost{other})
	wantCosts(t, listCosts(t, s, "app_nosuchapp", "", ""), nil)
	wantCosts(t, listCosts(t, s, "app\x00", "\x00", ""), nil)
	if err := s.DeleteApp(ctx, a); err != nil {
		t.Fatal(err)
	}
	wantCosts(t, listCosts(t, s, a, "", ""), nil)
	wantCosts(t, listCosts(t, s, b, "", ""), []unmogrowp.Cost{other})
}

// More rows than one statement carries, with repeated keys across statements.
func testCostMany(t *testing.T, s CostStoreWithApps) {
	app := newApp(t, s, "Many")
	const n = 1234
	rows := make([]unmogrowp.Cost, 0, n+10)
	for i := range n {
		rows = append(rows, unmogrowp.Cost{Date: fmt.Sprintf("2026-03-%02d", 1+i%28), MediaSource: "fb", Campaign: fmt.Sprintf("c%04d", i), Cost: float64(i), Currency: "USD"})
	}
	for i := range 10 { // the last of each key wins, though its first copy came in another statement
		c := rows[i]
		c.Cost = -float64(i) + 1e6
		rows = append(rows, c)
	}
	putCosts(t, s, app, rows...)
	got := listCosts(t, s, app, "", "")
	if len(got) != n {
		t.Fatalf("%d rows, want %d", len(got), n)
	}
	byCampaign := map[string]float64{}
	for _, c := range got {
		byCampaign[c.Campaign] = c.Cost
	}
	for i := range n {
		want := float64(i)
		if i < 10 {
			want = -float64(i) + 1e6
		}
		if got := byCampaign[fmt.Sprintf("c%04d", i)]; got != want {
			t.Fatalf("campaign c%04d cost %v, want %v", i, got, want)
		}
	}
}
