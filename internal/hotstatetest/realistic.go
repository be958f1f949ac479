package hotstatetest

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// RealisticTouchpoints returns n touchpoints shaped like production traffic, for
// benchmarks: five apps; clicks (85%) and impressions from eight media sources with their
// campaigns, ad sets, ads and sites; devices (about one per 1.5 touchpoints) that keep their
// user agent (iOS Safari, Facebook and Instagram in-app browsers, app UAs; Android Chrome,
// web views, Facebook in-app and Dalvik) and mostly their IP (IPv4 shared by about four
// devices, as carrier NAT does, or IPv6); IDFAs for a quarter of iOS devices, GAIDs for
// most Android ones; network click ids on half of the clicks; touch times spread evenly
// over the 30 days before now, in order give or take a few minutes (as the log delivers
// them and as a rebuild from the analytics store scans them), at microsecond precision.
// The same seed gives the same touchpoints.
func RealisticTouchpoints(n int, seed uint64, now time.Time) []unmogrowp.Touchpoint {
	return NewGenerator(seed, n*2/3+1, n, now).Touchpoints(n)
}

// RealisticInstalls returns n install decisions of n distinct devices, for benchmarks:
// about 60% organic, the rest attributed at every match level with the touch fields of
// RealisticTouchpoints' media sources, a few reinstalls and re-attributions, 3% with
// rejected touchpoints; install times over the year before now. The same seed gives the
// same installs.
func RealisticInstalls(n int, seed uint64, now time.Time) []unmogrowp.Install {
	return NewGenerator(seed, 0, 0, now).Installs(n)
}

// Generator makes realistic touchpoints and installs batch by batch, for benchmarks that
// apply more than they should hold in memory at once. It is not safe for concurrent use.
type Generator struct {
	gen
	now    time.Time
	step   time.Duration // between touch times
	touch  time.Time     // the last touch time
	offset int64
}

// NewGenerator returns a generator whose touchpoints come from a pool of devices devices
// (at least one), with install times before now. The first touchpoints touchpoints share
// the 30 days before now, in order (see RealisticTouchpoints); later ones continue at the
// same pace. The same arguments give the same sequence.
func NewGenerator(seed uint64, devices, touchpoints int, now time.Time) *Generator {
	span := 30 * 24 * time.Hour
	step := span / time.Duration(max(touchpoints, 1))
	return &Generator{gen: *newGen(seed, max(devices, 1)), now: now, step: step, touch: now.Add(-span)}
}

// Touchpoints returns the next n touchpoints (see RealisticTouchpoints), at consecutive
// offsets of partition 0.
func (g *Generator) Touchpoints(n int) []unmogrowp.Touchpoint {
	out := make([]unmogrowp.Touchpoint, n)
	for i := range out {
		g.offset++
		g.touch = g.touch.Add(g.step)
		out[i] = g.touchpoint(g.offset, g.touch)
	}
	return out
}

// Installs returns the decisions of the next n new devices (see RealisticInstalls), at
// consecutive offsets of partition 0.
func (g *Generator) Installs(n int) []unmogrowp.Install {
	out := make([]unmogrowp.Install, n)
	for i := range out {
		g.offset++
		out[i] = g.install(g.offset, g.now)
	}
	return out
}

var (
	realisticApps = []string{"app_7k2m9q4x1c8v3b5n", "app_p0o9i8u7y6t5r4e3", "app_z1x2c3v4b5n6m7l8",
		"app_q9w8e7r6t5y4u3i2", "app_a1s2d3f4g5h6j7k8"}
	mediaSources = []string{"facebook_ads", "facebook_ads", "facebook_ads", "googleadwords_int",
		"googleadwords_int", "tiktok_int", "tiktok_int", "unityads_int", "applovin_int",
		"ironsource_int", "snapchat_int", "Apple Search Ads"}
	channels    = []string{"Facebook", "Instagram", "Audience_Network", "YouTube", "Search", "Display"}
	iosVersions = []string{"16_7_10", "17_5_1", "17_6_1", "18_0_1", "18_1", "18_2_1", "18_3_2", "18_5", "18_6_2"}
	iosModels   = []string{"iPhone13,2", "iPhone14,2", "iPhone14,5", "iPhone14,7", "iPhone15,2",
		"iPhone15,3", "iPhone15,4", "iPhone16,1", "iPhone16,2", "iPhone17,1", "iPhone17,3"}
	darwin         = []string{"22.6.0", "23.5.0", "23.6.0", "24.0.0", "24.1.0", "24.2.0", "24.3.0", "24.5.0", "24.6.0"}
	androidModels  = []string{"SM-S918B", "SM-A546B", "SM-G991B", "SM-A155F", "Pixel 7", "Pixel 8", "Pixel 8 Pro", "Redmi Note 12", "M2101K6G", "CPH2451", "moto g54 5G", "2201116SG", "V2111", "RMX3630", "SM-S921B", "23106RN0DA"}
	androidBuilds  = []string{"UP1A.231005.007", "TP1A.220624.014", "AP2A.240805.005", "UKQ1.230804.001", "SKQ1.211006.001", "RKQ1.200826.002"}
	chromeVersions = []string{"124.0.6367.179", "126.0.6478.122", "128.0.6613.127", "130.0.6723.102", "131.0.6778.135", "133.0.6943.49"}
	deepLinks      = []string{"product/1043", "product/2231", "sale/summer", "level/12", "promo/welcome", "category/shoes", "invite/friend"}
)

// gen draws realistic values.
type gen struct {
	r       *rand.Rand
	devices []device
	ips     []string
}

type device struct {
	ios                               bool
	ua, ip, idfa, gaid, androidID, id string
}

func newGen(seed uint64, devices int) *gen {
	g := &gen{r: rand.New(rand.NewPCG(seed, 0x5eed))}
	for range devices/4 + 1 {
		g.ips = append(g.ips, fmt.Sprintf("%d.%d.%d.%d", []int{24, 47, 66, 73, 98, 172, 174, 176, 185, 188, 212}[g.r.IntN(11)], g.r.IntN(256), g.r.IntN(256), 1+g.r.IntN(254)))
	}
	g.devices = make([]device, devices)
	for i := range g.devices {
		g.devices[i] = g.device()
	}
	return g
}

func (g *gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

// zipf picks one of n values, the first ones far more often.
func (g *gen) zipf(n int) int {
	x := g.r.Float64()
	return int(float64(n) * x * x * x)
}

func (g *gen) hex(n int) string {
	b := make([]byte, n/2)
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return fmt.Sprintf("%x", b)
}

func (g *gen) uuid(upper bool) string {
	f := "%08x-%04x-4%03x-%04x-%012x"
	if upper {
		f = "%08X-%04X-4%03X-%04X-%012X"
	}
	return fmt.Sprintf(f, g.r.Uint32(), g.r.Uint32()&0xffff, g.r.Uint32()&0xfff, 0x8000|g.r.Uint32()&0x3fff, g.r.Uint64()&0xffffffffffff)
}

func (g *gen) device() device {
	var d device
	if g.r.IntN(100) < 20 {
		d.ip = fmt.Sprintf("2a02:%x:%x:%x:%x:%x:%x:%x", g.r.IntN(0x10000), g.r.IntN(0x10000), g.r.IntN(0x10000), g.r.IntN(0x10000), g.r.IntN(0x10000), g.r.IntN(0x10000), 1+g.r.IntN(0xfffe))
	} else {
		d.ip = g.pick(g.ips)
	}
	if g.r.IntN(100) < 45 {
		d.ios = true
		v := g.zipf(len(iosVersions))
		ver, model := iosVersions[len(iosVersions)-1-v], g.pick(iosModels)
		switch g.r.IntN(10) {
		case 0, 1, 2, 3:
			d.ua = fmt.Sprintf("Mozilla/5.0 (iPhone; CPU iPhone OS %s like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/%s Mobile/15E148 Safari/604.1", ver, dots(ver))
		case 4, 5, 6: // an app version has one build number
			fb := 480 + g.zipf(8)
			d.ua = fmt.Sprintf("Mozilla/5.0 (iPhone; CPU iPhone OS %s like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/%d.0.0.%d.%d;FBBV/%d;FBDV/%s;FBMD/iPhone;FBSN/iOS;FBSV/%s;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/0]",
				ver, fb, fb%50, fb%97+10, 600000000+fb*1013, model, dots(ver))
		case 7, 8:
			ig := 350 + g.zipf(6)
			d.ua = fmt.Sprintf("Mozilla/5.0 (iPhone; CPU iPhone OS %s like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram %d.0.0.%d.%d (%s; iOS %s; en_US; en; scale=3.00; 1179x2556; %d)",
				ver, ig, ig%30, ig%7+100, model, ver, 650000000+ig*997)
		default:
			tt := g.zipf(5)
			d.ua = fmt.Sprintf("TikTok %d.%d.0 rv:%d (iPhone; iOS %s; en_US) Cronet CFNetwork/1568.100.1 Darwin/%s", 38-tt/2, tt, 380000-tt*1000, dots(ver), darwin[len(darwin)-1-v])
		}
		if g.r.IntN(100) < 25 {
			d.idfa = g.uuid(true)
		}
	} else {
		ver := 15 - g.zipf(5) // Android 11-15, recent ones most
		m := g.r.IntN(len(androidModels))
		// A model runs one build of each Android version.
		model, build, chrome := androidModels[m], androidBuilds[(m+ver)%len(androidBuilds)], chromeVersions[len(chromeVersions)-1-g.zipf(len(chromeVersions))]
		switch g.r.IntN(10) {
		case 0, 1, 2:
			d.ua = fmt.Sprintf("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%s Mobile Safari/537.36", chrome[:3]+".0.0.0")
		case 3, 4, 5:
			fb := 480 + g.zipf(8)
			d.ua = fmt.Sprintf("Mozilla/5.0 (Linux; Android %d; %s Build/%s; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/%s Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/%d.0.0.%d.%d;]",
				ver, model, build, chrome, fb, fb%50, fb%89+20)
		case 6, 7:
			d.ua = fmt.Sprintf("Mozilla/5.0 (Linux; Android %d; %s Build/%s; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/%s Mobile Safari/537.36", ver, model, build, chrome)
		default:
			d.ua = fmt.Sprintf("Dalvik/2.1.0 (Linux; U; Android %d; %s Build/%s)", ver, model, build)
		}
		if g.r.IntN(100) < 80 {
			d.gaid = g.uuid(false)
		}
		if g.r.IntN(100) < 3 {
			d.androidID = g.hex(16)
		}
	}
	if g.r.IntN(100) < 10 {
		d.id = g.uuid(d.ios)
	}
	return d
}

// dots turns an iOS version token 17_5_1 into 17.5.1.
func dots(v string) string {
	b := []byte(v)
	for i, c := range b {
		if c == '_' {
			b[i] = '.'
		}
	}
	return string(b)
}

// touchFields draws what a tracking link and its network say.
type touchFields struct {
	mediaSource, campaign, adset, ad, siteID, channel, clickID, deepLink string
}

func (g *gen) touchFields(app int) touchFields {
	var f touchFields
	ms := g.r.IntN(len(mediaSources))
	f.mediaSource = mediaSources[ms]
	f.campaign = fmt.Sprintf("%s_%s_q%d_%02d", []string{"us", "de", "br", "in", "jp"}[app], []string{"install", "purchase", "retarget", "brand"}[g.zipf(4)], 1+g.r.IntN(4), g.zipf(12))
	if g.r.IntN(100) < 70 {
		f.adset = fmt.Sprintf("adset_%d_%03d", ms, g.zipf(200))
	}
	if g.r.IntN(100) < 50 {
		f.ad = fmt.Sprintf("ad_%05d", 10000+g.zipf(1000)*7)
	}
	if g.r.IntN(100) < 30 {
		f.siteID = fmt.Sprintf("pub_%d", 100000+g.zipf(5000))
	}
	if g.r.IntN(100) < 20 {
		f.channel = g.pick(channels)
	}
	if g.r.IntN(100) < 50 {
		b := make([]byte, 24+g.r.IntN(12))
		for i := range b {
			b[i] = byte(g.r.Uint32())
		}
		f.clickID = base64.RawURLEncoding.EncodeToString(b)
	}
	if g.r.IntN(100) < 15 {
		f.deepLink = g.pick(deepLinks)
	}
	return f
}

// touchpoint returns a touchpoint touched about at (a few minutes before, at most).
func (g *gen) touchpoint(offset int64, at time.Time) unmogrowp.Touchpoint {
	d := &g.devices[g.r.IntN(len(g.devices))]
	app := g.zipf(len(realisticApps))
	f := g.touchFields(app)
	ts := at.Add(-time.Duration(g.r.Int64N(int64(5 * time.Minute)))).Truncate(time.Microsecond).UTC()
	tp := unmogrowp.Touchpoint{
		Offset:        offset,
		ID:            g.hex(32),
		AppID:         realisticApps[app],
		Type:          unmogrowp.TouchClick,
		LinkID:        fmt.Sprintf("lnk_%d%c%03d", app, 'a'+rune(g.r.IntN(26)), g.zipf(40)),
		MediaSource:   f.mediaSource,
		Campaign:      f.campaign,
		Adset:         f.adset,
		Ad:            f.ad,
		SiteID:        f.siteID,
		Channel:       f.channel,
		ClickID:       f.clickID,
		Time:          ts,
		ReceivedAt:    ts.Add(time.Duration(50_000+g.r.IntN(2_000_000)) * time.Microsecond),
		IP:            d.ip,
		UserAgent:     d.ua,
		IDFA:          d.idfa,
		GAID:          d.gaid,
		AndroidID:     d.androidID,
		DeviceID:      d.id,
		DeepLinkValue: f.deepLink,
	}
	if g.r.IntN(100) < 15 {
		tp.Type, tp.ClickID = unmogrowp.TouchImpression, ""
	}
	if g.r.IntN(100) < 5 { // the device moved to another network
		tp.IP = g.pick(g.ips)
	}
	if g.r.IntN(100) < 30 {
		tp.Sub[0] = fmt.Sprintf("creative_%d", g.zipf(300))
	}
	if g.r.IntN(100) < 10 {
		tp.Sub[1] = g.hex(12) // a per-click token
	}
	return tp
}

func (g *gen) install(offset int64, now time.Time) unmogrowp.Install {
	app := g.zipf(len(realisticApps))
	ios := g.r.IntN(100) < 45
	deviceID := g.uuid(ios)
	if !ios && g.r.IntN(2) == 0 {
		deviceID = g.hex(16)
	}
	installTime := now.Add(-time.Duration(g.r.Int64N(int64(365 * 24 * time.Hour)))).Truncate(time.Millisecond).UTC()
	in := unmogrowp.Install{
		Offset: offset,
		Attribution: unmogrowp.Attribution{
			AppID:          realisticApps[app],
			DeviceID:       deviceID,
			InstallEventID: g.hex(32),
			InstallTime:    installTime,
			MatchType:      unmogrowp.MatchOrganic,
			MediaSource:    unmogrowp.MediaSourceOrganic,
		},
		FirstInstallTime: installTime,
	}
	if g.r.IntN(100) < 40 {
		f := g.touchFields(app)
		touch := installTime.Add(-time.Duration(10+g.r.Int64N(int64(3*24*time.Hour/time.Second))) * time.Second).Add(time.Duration(g.r.IntN(1e6)) * time.Microsecond)
		in.Attributed = true
		in.MatchType = []string{unmogrowp.MatchReferrer, unmogrowp.MatchDeviceID, unmogrowp.MatchDeviceID,
			unmogrowp.MatchFingerprint, unmogrowp.MatchViewThroughDeviceID}[g.r.IntN(5)]
		in.TouchType = unmogrowp.TouchClick
		if in.MatchType == unmogrowp.MatchViewThroughDeviceID {
			in.TouchType = unmogrowp.TouchImpression
		}
		in.TouchpointID, in.TouchTime = g.hex(32), touch
		in.MediaSource, in.Campaign, in.Adset, in.Ad = f.mediaSource, f.campaign, f.adset, f.ad
		in.SiteID, in.Channel, in.ClickID, in.DeepLinkValue = f.siteID, f.channel, f.clickID, f.deepLink
		in.CTITSeconds = int64(installTime.Sub(touch) / time.Second)
		switch g.r.IntN(100) {
		case 0, 1, 2:
			in.IsReinstall = true
			in.FirstInstallTime = installTime.Add(-time.Duration(g.r.IntN(80*24)) * time.Hour)
		case 3:
			in.IsReattribution = true
			in.FirstInstallTime = installTime.Add(-time.Duration(g.r.IntN(80*24)) * time.Hour)
		}
	}
	if g.r.IntN(100) < 3 {
		for range 1 + g.r.IntN(2) {
			in.Rejected = append(in.Rejected, unmogrowp.Rejection{
				TouchpointID: g.hex(32),
				MediaSource:  g.pick(mediaSources),
				Reason:       []string{unmogrowp.RejectClickInjection, unmogrowp.RejectBlockedIP}[g.r.IntN(2)],
			})
		}
	}
	return in
}
