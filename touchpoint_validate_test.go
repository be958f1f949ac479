package unmogrowp

import (
	"strings"
	"testing"
	"time"
)

func TestTouchpointValidate(t *testing.T) {
	now := time.Date(2025, 10, 21, 14, 20, 0, 0, time.FixedZone("CEST", 7200))
	const maxAge = 30 * 24 * time.Hour
	long := strings.Repeat("x", MaxTouchpointFieldLen+1)

	t.Run("defaults and normalisation", func(t *testing.T) {
		tp := Touchpoint{
			Type: "Click", MediaSource: "net", IDFA: "00000000-0000-0000-0000-000000000000",
			GAID: "0000", AndroidID: "-", DeviceID: "000", IP: "2001:db8::1",
		}
		if err := tp.Validate(now, maxAge); err != nil {
			t.Fatal(err)
		}
		if tp.Type != TouchClick {
			t.Errorf("type = %q, want click", tp.Type)
		}
		if tp.IDFA != "" || tp.GAID != "" || tp.AndroidID != "" || tp.DeviceID != "" {
			t.Errorf("zero device ids kept: %q %q %q %q", tp.IDFA, tp.GAID, tp.AndroidID, tp.DeviceID)
		}
		if !tp.Time.Equal(now) || tp.Time.Location() != time.UTC || !tp.ReceivedAt.Equal(now) || tp.ReceivedAt.Location() != time.UTC {
			t.Errorf("times = %v / %v, want %v in UTC", tp.Time, tp.ReceivedAt, now)
		}
	})

	t.Run("cost normalised", func(t *testing.T) {
		tp := Touchpoint{Type: TouchImpression, MediaSource: "net", CostModel: "CPM", CostValue: 4.2}
		if err := tp.Validate(now, maxAge); err != nil {
			t.Fatal(err)
		}
		if tp.CostModel != CostCPM || tp.CostCurrency != DefaultCostCurrency {
			t.Errorf("cost = %q %v %q, want cpm in USD", tp.CostModel, tp.CostValue, tp.CostCurrency)
		}
		tp = Touchpoint{Type: TouchClick, MediaSource: "net", CostModel: "cpi", CostValue: 2, CostCurrency: "eur"}
		if err := tp.Validate(now, maxAge); err != nil || tp.CostCurrency != "EUR" {
			t.Errorf("cpi in eur: %v, currency %q", err, tp.CostCurrency)
		}
	})

	t.Run("own time kept in UTC", func(t *testing.T) {
		at := now.Add(-time.Hour)
		tp := Touchpoint{Type: TouchImpression, MediaSource: "net", Time: at, IDFA: "6D92078A-8246-4BA4-AE5B-76104861E7DC"}
		if err := tp.Validate(now, maxAge); err != nil {
			t.Fatal(err)
		}
		if !tp.Time.Equal(at) || tp.Time.Location() != time.UTC || tp.IDFA == "" {
			t.Errorf("got time %v idfa %q", tp.Time, tp.IDFA)
		}
	})

	t.Run("bounds are inclusive", func(t *testing.T) {
		for _, at := range []time.Time{now.Add(MaxFutureSkew), now.Add(-maxAge)} {
			tp := Touchpoint{Type: TouchClick, MediaSource: "net", Time: at}
			if err := tp.Validate(now, maxAge); err != nil {
				t.Errorf("time %v: %v", at, err)
			}
		}
		tp := Touchpoint{Type: TouchClick, MediaSource: "net", Time: now.Add(-10 * maxAge)}
		if err := tp.Validate(now, 0); err != nil {
			t.Errorf("no max age: %v", err)
		}
		tp = Touchpoint{Type: TouchClick, MediaSource: "net", UserAgent: strings.Repeat("u", MaxUserAgentLen), DeviceID: strings.Repeat("d", MaxDeviceIDLen), Campaign: long[1:]}
		if err := tp.Validate(now, maxAge); err != nil {
			t.Errorf("fields at their limits: %v", err)
		}
	})

	for name, c := range map[string]struct {
		tp   Touchpoint
		want string
	}{
		"missing type":       {Touchpoint{MediaSource: "net"}, "type is required"},
		"bad type":           {Touchpoint{Type: "install", MediaSource: "net"}, "type must be click or impression"},
		"missing source":     {Touchpoint{Type: TouchClick}, "media_source is required"},
		"long source":        {Touchpoint{Type: TouchClick, MediaSource: long}, "media_source must be at most 256"},
		"long campaign":      {Touchpoint{Type: TouchClick, MediaSource: "n", Campaign: long}, "campaign"},
		"long click_id":      {Touchpoint{Type: TouchClick, MediaSource: "n", ClickID: long}, "click_id"},
		"long link_id":       {Touchpoint{Type: TouchClick, MediaSource: "n", LinkID: long}, "link_id"},
		"long deep link":     {Touchpoint{Type: TouchClick, MediaSource: "n", DeepLinkValue: long}, "deep_link_value"},
		"long sub5":          {Touchpoint{Type: TouchClick, MediaSource: "n", Sub: [5]string{4: long}}, "sub5"},
		"long idfa":          {Touchpoint{Type: TouchClick, MediaSource: "n", IDFA: long}, "idfa"},
		"long device_id":     {Touchpoint{Type: TouchClick, MediaSource: "n", DeviceID: strings.Repeat("d", MaxDeviceIDLen+1)}, "device_id must be at most 128"},
		"long user_agent":    {Touchpoint{Type: TouchClick, MediaSource: "n", UserAgent: strings.Repeat("u", MaxUserAgentLen+1)}, "user_agent must be at most 1024"},
		"bad ip":             {Touchpoint{Type: TouchClick, MediaSource: "n", IP: "999.1.1.1"}, "ip is not an IP address"},
		"ip with port":       {Touchpoint{Type: TouchClick, MediaSource: "n", IP: "1.2.3.4:80"}, "ip is not an IP address"},
		"future":             {Touchpoint{Type: TouchClick, MediaSource: "n", Time: now.Add(MaxFutureSkew + time.Second)}, "future"},
		"older than max age": {Touchpoint{Type: TouchClick, MediaSource: "n", Time: now.Add(-maxAge - time.Second)}, "max_event_age_days"},
		"bad cost model":     {Touchpoint{Type: TouchClick, MediaSource: "n", CostModel: "cpa", CostValue: 1}, "cost_model must be cpi, cpc or cpm"},
		"cost without model": {Touchpoint{Type: TouchClick, MediaSource: "n", CostValue: 1}, "cost_model is required"},
		"currency alone":     {Touchpoint{Type: TouchClick, MediaSource: "n", CostCurrency: "EUR"}, "cost_model is required"},
		"cpc impression":     {Touchpoint{Type: TouchImpression, MediaSource: "n", CostModel: CostCPC, CostValue: 1}, "cost_model cpc"},
		"cpm click":          {Touchpoint{Type: TouchClick, MediaSource: "n", CostModel: CostCPM, CostValue: 1}, "cost_model cpm"},
		"negative cost":      {Touchpoint{Type: TouchClick, MediaSource: "n", CostModel: CostCPC, CostValue: -0.1}, "cost_value must be a number from 0"},
		"huge cost":          {Touchpoint{Type: TouchClick, MediaSource: "n", CostModel: CostCPI, CostValue: 1e10}, "cost_value must be a number from 0"},
		"bad cost currency":  {Touchpoint{Type: TouchClick, MediaSource: "n", CostModel: CostCPI, CostValue: 1, CostCurrency: "dollars"}, "cost_currency must be a three-letter"},
	} {
		t.Run(name, func(t *testing.T) {
			tp := c.tp
			err := tp.Validate(now, maxAge)
			if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), c.want) {
				t.Fatalf("err = %v, want EINVALID mentioning %q", err, c.want)
			}
		})
	}
}

func TestTouchpointApplyLink(t *testing.T) {
	link := &Link{
		ID: "lnk_1", AppID: "app_1", MediaSource: "net", Campaign: "autumn", Adset: "as",
		Ad: "ad", SiteID: "site", Channel: "ch", DeepLinkValue: "product/1",
		IOSURL: "https://apps.apple.com/app/id1",
	}
	tp := Touchpoint{Type: TouchClick, AppID: "other", Campaign: "override", DeepLinkValue: "product/2", ClickID: "net-click"}
	tp.ApplyLink(link)
	want := Touchpoint{
		Type: TouchClick, LinkID: "lnk_1", AppID: "app_1", MediaSource: "net", Campaign: "override",
		Adset: "as", Ad: "ad", SiteID: "site", Channel: "ch", DeepLinkValue: "product/2", ClickID: "net-click",
	}
	if tp != want {
		t.Fatalf("got  %+v\nwant %+v", tp, want)
	}
}
