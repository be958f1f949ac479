package metadatatest

import (
	"context"
	"reflect"
	"testing"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// SKANStoreWithApps is what RunSKANConfigStore tests: the SKAN side of the metadata store,
// and the app store whose settings claim App Store ids.
type SKANStoreWithApps interface {
	unmogrowp.AppStore
	unmogrowp.SKANConfigStore
}

// RunSKANConfigStore runs the conformance suite of unmogrowp.SKANConfigStore and of the
// app_store_id setting. open must return a fresh, empty store each time it is called.
func RunSKANConfigStore(t *testing.T, open func(t *testing.T) SKANStoreWithApps) {
	t.Run("AppStoreID", func(t *testing.T) { t.Parallel(); testAppStoreID(t, open(t)) })
	t.Run("Config", func(t *testing.T) { t.Parallel(); testSKANConfig(t, open(t)) })
}

func skanApp(t *testing.T, s unmogrowp.AppStore, name string, storeID int64) *unmogrowp.App {
	t.Helper()
	app := &unmogrowp.App{Name: name, Platform: "ios", Settings: unmogrowp.DefaultAppSettings()}
	app.Settings.AppStoreID = storeID
	if _, err := s.CreateApp(context.Background(), app); err != nil {
		t.Fatalf("CreateApp(%s): %v", name, err)
	}
	return app
}

// testAppStoreID: an App Store id finds its app; a second app claiming it is ECONFLICT on
// create and update; giving it up frees it; apps without one do not collide.
func testAppStoreID(t *testing.T, s SKANStoreWithApps) {
	ctx := context.Background()
	a := skanApp(t, s, "a", 525463029)
	skanApp(t, s, "none1", 0)
	skanApp(t, s, "none2", 0)
	got, err := s.AppByStoreID(ctx, 525463029)
	if err != nil || got.ID != a.ID || got.Settings.AppStoreID != 525463029 {
		t.Fatalf("AppByStoreID: %+v, %v", got, err)
	}
	for _, id := range []int64{0, -1, 1} {
		if _, err := s.AppByStoreID(ctx, id); unmogrowp.ErrorCode(err) != unmogrowp.ENOTFOUND {
			t.Fatalf("AppByStoreID(%d): %v, want ENOTFOUND", id, err)
		}
	}
	b := &unmogrowp.App{Name: "b", Settings: unmogrowp.DefaultAppSettings()}
	b.Settings.AppStoreID = 525463029
	if _, err := s.CreateApp(ctx, b); unmogrowp.ErrorCode(err) != unmogrowp.ECONFLICT {
		t.Fatalf("CreateApp with a claimed id: %v, want ECONFLICT", err)
	}
	b = skanApp(t, s, "b", 0)
	b.Settings.AppStoreID = 525463029
	if err := s.UpdateApp(ctx, b); unmogrowp.ErrorCode(err) != unmogrowp.ECONFLICT {
		t.Fatalf("UpdateApp with a claimed id: %v, want ECONFLICT", err)
	}
	a.Settings.AppStoreID = 0
	if err := s.UpdateApp(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateApp(ctx, b); err != nil {
		t.Fatalf("UpdateApp with a freed id: %v", err)
	}
	if got, err := s.AppByStoreID(ctx, 525463029); err != nil || got.ID != b.ID {
		t.Fatalf("AppByStoreID after the move: %+v, %v", got, err)
	}
	a.Settings.AppStoreID = -5
	if err := s.UpdateApp(ctx, a); unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
		t.Fatalf("negative id: %v, want EINVALID", err)
	}
}

// testSKANConfig: an app without a config reads empty; schema and networks are stored
// apart and read back as put; invalid ones are EINVALID; an unknown app is ENOTFOUND;
// deleting the app deletes its config.
func testSKANConfig(t *testing.T, s SKANStoreWithApps) {
	ctx := context.Background()
	app := skanApp(t, s, "a", 0)
	c, err := s.SKANConfig(ctx, app.ID)
	if err != nil || c.Schema != nil || len(c.Networks.Networks) != 0 {
		t.Fatalf("empty config: %+v, %v", c, err)
	}
	rev := 4.99
	schema := &unmogrowp.SKANSchema{MeasurementWindowHours: 48, FineMappings: []unmogrowp.SKANFineMapping{
		{FineValue: 63, Mapping: unmogrowp.SKANValueMapping{MaxTimePostInstallHours: 24, MappedEvents: []unmogrowp.SKANMappedEvent{
			{MappedEventName: "purchase", CurrencyCode: "USD", EventRevenueValue: &rev}}}},
	}}
	nets := &unmogrowp.SKANNetworks{Networks: []unmogrowp.SKANNetwork{
		{AdNetworkID: "example123.skadnetwork", MediaSource: "net_x", Campaigns: map[string]string{"42": "summer"}},
	}}
	if err := s.PutSKANSchema(ctx, app.ID, schema); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSKANNetworks(ctx, app.ID, nets); err != nil {
		t.Fatal(err)
	}
	c, err = s.SKANConfig(ctx, app.ID)
	if err != nil || !reflect.DeepEqual(c.Schema, schema) || !reflect.DeepEqual(c.Networks, *nets) {
		t.Fatalf("config read back: %+v, %v", c, err)
	}
	schema.MeasurementWindowHours = 72
	if err := s.PutSKANSchema(ctx, app.ID, schema); err != nil {
		t.Fatal(err)
	}
	if c, _ = s.SKANConfig(ctx, app.ID); c.Schema.MeasurementWindowHours != 72 || len(c.Networks.Networks) != 1 {
		t.Fatalf("replaced schema: %+v", c)
	}
	bad := &unmogrowp.SKANSchema{FineMappings: []unmogrowp.SKANFineMapping{{FineValue: 64}}}
	if err := s.PutSKANSchema(ctx, app.ID, bad); unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
		t.Fatalf("invalid schema: %v", err)
	}
	if err := s.PutSKANNetworks(ctx, "app_nosuchapp0000000", nets); unmogrowp.ErrorCode(err) != unmogrowp.ENOTFOUND {
		t.Fatalf("unknown app: %v", err)
	}
	if err := s.DeleteApp(ctx, app.ID); err != nil {
		t.Fatal(err)
	}
	if c, err = s.SKANConfig(ctx, app.ID); err != nil || c.Schema != nil {
		t.Fatalf("config of a deleted app: %+v %v", c, err)
	}
}
