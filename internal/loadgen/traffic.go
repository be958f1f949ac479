package loadgen

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// The kinds of request the load generator sends.
const (
	kindEvents      = iota // POST /v1/events or /v1/events/batch with an SDK key
	kindTouchpoints        // POST /v1/touchpoints with the server key: an ad network's S2S clicks and impressions
	kindClicks             // GET /c/{link_id}: a person's click on a tracking link
	numKinds
)

var kindNames = [numKinds]string{"events", "touchpoints", "clicks"}

// parseMix parses --mix, "events=90,touchpoints=6,clicks=4": the share of each kind in
// the items sent (events, touchpoints, clicks), in any unit.
func parseMix(s string) (mix [numKinds]float64, err error) {
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		k := -1
		for i, n := range kindNames {
			if n == strings.TrimSpace(name) {
				k = i
			}
		}
		v, perr := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if !ok || k < 0 || perr != nil || v < 0 {
			return mix, fmt.Errorf("--mix takes kind=share pairs of events, touchpoints and clicks, not %q", part)
		}
		mix[k] = v
	}
	if mix[kindEvents]+mix[kindTouchpoints]+mix[kindClicks] <= 0 {
		return mix, fmt.Errorf("--mix %q sends nothing", s)
	}
	return mix, nil
}

// trafficConfig is what a worker's traffic is made of.
type trafficConfig struct {
	Host       string   // the Host header
	PathPrefix string   // the base URL's path, before /v1/...
	Keys       []string // SDK keys; apps are drawn from them Zipf-distributed
	ServerKey  string   // for touchpoints
	LinkID     string   // for clicks
	Batch      int      // events (and touchpoints) per request
	Mix        [numKinds]float64
	Devices    int     // distinct devices (per app)
	ZipfS      float64 // Zipf exponent of devices and apps, > 1
	RunID      string  // 8 characters that make this run's event ids unique
}

// zipf draws ranks in [0, n): rank k with probability proportional to (v+k)^-s.
type zipf struct{ z *rand.Zipf }

func newZipf(r *rand.Rand, s, v float64, n int) zipf {
	if n <= 1 {
		return zipf{}
	}
	return zipf{rand.NewZipf(r, s, v, uint64(n-1))}
}

func (z zipf) next() int {
	if z.z == nil {
		return 0
	}
	return int(z.z.Uint64())
}

// deviceZipfV is the Zipf v of devices: the head is flattened over about 100 devices, as
// in storetest's fixture, rather than one device sending a seventh of everything.
const deviceZipfV = 100

// A slot is a fixed-width place in a template that is written anew for every request.
type slotKind uint8

const (
	slotSeq   slotKind = iota // 16 hex digits: the worker's sequence number, unique in the run
	slotDev10                 // 10 decimal digits of the device number
	slotDev12                 // 12 decimal digits of the device number
	slotIP                    // 15 characters: the device's IPv4 address, each octet of three digits
	slotTime                  // 10 decimal digits: the unix time in seconds
)

var slotWidth = [...]int{slotSeq: 16, slotDev10: 10, slotDev12: 12, slotIP: 15, slotTime: 10}

type slot struct {
	off  int32
	kind slotKind
}

// item is one event, touchpoint or click of a template: the device's platform (0 iOS,
// 1 Android: device numbers of that parity) and where its slots end in template.slots.
type item struct {
	parity uint8
	end    int32
}

// template is an encoded request body (events, touchpoints) or whole request (a click)
// whose ids, devices and timestamps are written in place before each send, so that a
// request costs the load generator a few hundred nanoseconds an event, not an encoding.
type template struct {
	buf   []byte
	slots []slot
	items []item
}

// tplWriter builds a template.
type tplWriter struct{ t template }

func (w *tplWriter) s(s string) { w.t.buf = append(w.t.buf, s...) }

func (w *tplWriter) slot(k slotKind) {
	w.t.slots = append(w.t.slots, slot{off: int32(len(w.t.buf)), kind: k})
	for range slotWidth[k] {
		w.t.buf = append(w.t.buf, '0')
	}
}

func (w *tplWriter) endItem(parity uint8) {
	w.t.items = append(w.t.items, item{parity: parity, end: int32(len(w.t.slots))})
}

// traffic is one worker's request generator.
type traffic struct {
	cfg     trafficConfig
	rng     *rand.Rand
	devices zipf // ranks; device = 2*rank + parity
	apps    zipf
	seq     uint64            // worker id in the high bits
	cum     [numKinds]float64 // cumulative share of requests: kind k when a draw is below cum[k]
	last    int               // the last kind with a share
	items   [numKinds]int     // items per request

	events, touchpoints, clicks []template
	heads                       [][]byte // per key: the events request up to "Content-Length: "
	tpHead                      []byte
	wbuf                        []byte
}

func newTraffic(cfg trafficConfig, worker int, seed uint64) *traffic {
	rng := rand.New(rand.NewPCG(seed, uint64(worker)))
	g := &traffic{
		cfg:     cfg,
		rng:     rng,
		devices: newZipf(rng, cfg.ZipfS, deviceZipfV, max(1, cfg.Devices/2)),
		apps:    newZipf(rng, cfg.ZipfS, 1, len(cfg.Keys)),
		seq:     uint64(worker) << 40,
	}
	g.items = [numKinds]int{cfg.Batch, cfg.Batch, 1}
	var sum float64
	for k := range numKinds {
		sum += cfg.Mix[k] / float64(g.items[k])
		g.cum[k] = sum
		if cfg.Mix[k] > 0 {
			g.last = k
		}
	}
	for k := range g.cum {
		g.cum[k] /= sum
	}
	// A pool of templates per kind, bounded in bytes: about 1000 items per kind (their
	// devices, ids and times change at every send).
	pool := min(64, max(4, 1000/cfg.Batch))
	path := "/v1/events/batch"
	if cfg.Batch == 1 {
		path = "/v1/events"
	}
	for _, key := range cfg.Keys {
		g.heads = append(g.heads, []byte("POST "+cfg.PathPrefix+path+" HTTP/1.1\r\nHost: "+cfg.Host+
			"\r\nContent-Type: application/json\r\nUser-Agent: unmogrowp-loadgen\r\nX-App-Key: "+key+"\r\nContent-Length: "))
	}
	if cfg.Mix[kindEvents] > 0 {
		for range pool {
			g.events = append(g.events, g.eventsTemplate(cfg.Batch))
		}
	}
	if cfg.Mix[kindTouchpoints] > 0 {
		g.tpHead = []byte("POST " + cfg.PathPrefix + "/v1/touchpoints HTTP/1.1\r\nHost: " + cfg.Host +
			"\r\nContent-Type: application/json\r\nUser-Agent: unmogrowp-loadgen\r\nX-Api-Key: " + cfg.ServerKey + "\r\nContent-Length: ")
		for range pool {
			g.touchpoints = append(g.touchpoints, g.touchpointsTemplate(cfg.Batch))
		}
	}
	if cfg.Mix[kindClicks] > 0 {
		for range 64 {
			g.clicks = append(g.clicks, g.clickTemplate())
		}
	}
	return g
}

// next returns the next request, encoded whole, its kind, how many items it carries and
// the size of its body (of the whole request for a click). The bytes are valid until the
// next call.
func (g *traffic) next(now time.Time) (req []byte, kind, items, size int) {
	x := g.rng.Float64()
	kind = g.last
	for k := range numKinds {
		if g.cfg.Mix[k] > 0 && x < g.cum[k] {
			kind = k
			break
		}
	}
	unix := now.Unix()
	var t *template
	switch kind {
	case kindEvents:
		t = &g.events[g.rng.IntN(len(g.events))]
		g.patch(t, unix)
		g.wbuf = append(g.wbuf[:0], g.heads[g.apps.next()]...)
		g.wbuf = strconv.AppendInt(g.wbuf, int64(len(t.buf)), 10)
		g.wbuf = append(append(g.wbuf, "\r\n\r\n"...), t.buf...)
	case kindTouchpoints:
		t = &g.touchpoints[g.rng.IntN(len(g.touchpoints))]
		g.patch(t, unix)
		g.wbuf = append(g.wbuf[:0], g.tpHead...)
		g.wbuf = strconv.AppendInt(g.wbuf, int64(len(t.buf)), 10)
		g.wbuf = append(append(g.wbuf, "\r\n\r\n"...), t.buf...)
	default:
		t = &g.clicks[g.rng.IntN(len(g.clicks))]
		g.patch(t, unix)
		g.wbuf = append(g.wbuf[:0], t.buf...)
	}
	return g.wbuf, kind, g.items[kind], len(t.buf)
}

// device draws a device number of the platform's parity.
func (g *traffic) device(parity uint8) uint64 {
	return 2*uint64(g.devices.next()) + uint64(parity)
}

// patch writes fresh ids, devices and the time into the template's slots.
func (g *traffic) patch(t *template, unix int64) {
	s := 0
	for _, it := range t.items {
		dev := g.device(it.parity)
		for ; s < int(it.end); s++ {
			sl := t.slots[s]
			b := t.buf[sl.off : int(sl.off)+slotWidth[sl.kind]]
			switch sl.kind {
			case slotSeq:
				g.seq++
				putHex(b, g.seq)
			case slotDev10, slotDev12:
				putDec(b, dev)
			case slotIP:
				putIP(b, dev)
			case slotTime:
				putDec(b, uint64(unix))
			}
		}
	}
}

// putDec writes v in decimal into all of b, zero-padded (keeping the low digits).
func putDec(b []byte, v uint64) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
}

// putHex writes v in hexadecimal into all of b, zero-padded.
func putHex(b []byte, v uint64) {
	const digits = "0123456789abcdef"
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = digits[v&15]
		v >>= 4
	}
}

// putIP writes the device's IPv4 address into b (15 bytes): every octet has three digits,
// so that the width never changes, and the first is a public unicast one.
func putIP(b []byte, dev uint64) {
	h := (dev + 1) * 0x9E3779B97F4A7C15
	octets := [4]uint64{151 + (h>>8)%40, 100 + (h>>16)%156, 100 + (h>>24)%156, 100 + (h>>32)%156}
	for i, o := range octets {
		putDec(b[i*4:i*4+3], o)
		if i < 3 {
			b[i*4+3] = '.'
		}
	}
}

// eventTypes are drawn with these weights: mostly sessions and game progress, some
// purchases with revenue and a few installs.
var eventTypes = []struct {
	name   string
	weight int
}{
	{"session", 45}, {"level_complete", 15}, {"ad_view", 12}, {"tutorial_step", 7},
	{"add_to_cart", 6}, {"purchase", 6}, {"install", 5}, {"app_open", 4},
}

func (g *traffic) eventType() string {
	n := g.rng.IntN(100)
	for _, t := range eventTypes {
		if n < t.weight {
			return t.name
		}
		n -= t.weight
	}
	return "session"
}

type devicePlatform struct {
	os, model, ua, appUA string
}

var (
	// Each device kind with its browser's user agent (clicks) and its app's HTTP client's
	// (events: what an SDK's requests carry).
	iosDevices = []devicePlatform{
		{"17.1.2", "iPhone15,2", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148", "Game/3 CFNetwork/1485 Darwin/23.1.0"},
		{"18.0", "iPhone16,1", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148", "Game/3 CFNetwork/1568 Darwin/24.0.0"},
		{"16.6", "iPhone14,5", "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148", "Game/3 CFNetwork/1410 Darwin/22.6.0"},
	}
	androidDevices = []devicePlatform{
		{"14", "Pixel 8", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8)"},
		{"13", "SM-S911B", "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Mobile Safari/537.36", "Dalvik/2.1.0 (Linux; U; Android 13; SM-S911B)"},
		{"12", "Redmi Note 11", "Mozilla/5.0 (Linux; Android 12; Redmi Note 11) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36", "Dalvik/2.1.0 (Linux; U; Android 12; Redmi Note 11)"},
	}
	countries    = []string{"US", "US", "US", "DE", "BR", "IN", "JP", "FR", "GB", "KR"}
	mediaSources = []string{"facebook_ads", "facebook_ads", "googleadwords_int", "googleadwords_int", "tiktok_int", "unityads_int", "applovin_int", "ironsource_int"}
	products     = []struct {
		id    string
		price string
	}{{"gems_100", "0.99"}, {"gems_550", "4.99"}, {"starter_pack", "2.99"}, {"gems_1200", "9.99"}, {"vip_month", "19.99"}}
)

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// deviceIDs writes the advertising and vendor ids of the platform, patched per request.
func deviceIDs(w *tplWriter, parity uint8) {
	if parity == 0 {
		w.s(`"idfa":"6D92078A-8246-4BA4-AE5B-`)
		w.slot(slotDev12)
		w.s(`"`)
		return
	}
	w.s(`"gaid":"38400000-8cf0-11bd-b23e-`)
	w.slot(slotDev12)
	w.s(`"`)
}

// eventsTemplate returns a template of n events: one event object, or {"events":[...]}.
func (g *traffic) eventsTemplate(n int) template {
	var w tplWriter
	r := g.rng
	if n > 1 {
		w.s(`{"events":[`)
	}
	for i := range n {
		if i > 0 {
			w.s(",")
		}
		parity := uint8(r.IntN(2))
		dev := pick(r, iosDevices)
		platform := "ios"
		if parity == 1 {
			dev, platform = pick(r, androidDevices), "android"
		}
		typ := g.eventType()
		country := pick(r, countries)
		w.s(`{"event_type":"` + typ + `","event_id":"` + g.cfg.RunID + `-`)
		w.slot(slotSeq)
		w.s(`","device_id":"d`)
		w.slot(slotDev10)
		w.s(`","session_id":"s`)
		w.slot(slotDev10)
		w.s(fmt.Sprintf(`-%04d","timestamp":`, r.IntN(10000)))
		w.slot(slotTime)
		w.s(`,"platform":"` + platform + `","os_version":"` + dev.os + `","app_version":"3.` + strconv.Itoa(r.IntN(4)) +
			`.1","device_model":"` + dev.model + `","country":"` + country + `",`)
		deviceIDs(&w, parity)
		w.s(`,"ip":"`)
		w.slot(slotIP)
		w.s(`","user_agent":"` + dev.appUA + `"`)
		switch typ {
		case "purchase":
			p := pick(r, products)
			w.s(`,"revenue":` + p.price + `,"currency":"USD","event_data":{"product_id":"` + p.id + `","quantity":1,"store":"` + platform + `"}}`)
		case "install":
			if parity == 1 {
				w.s(`,"install_referrer":"utm_source=google-play&utm_medium=organic"`)
			} else {
				w.s(`,"att_status":"authorized"`)
			}
			w.s(`,"event_data":{"first_open":true}}`)
		default:
			w.s(fmt.Sprintf(`,"event_data":{"screen":"level_%d","ab_group":"%c","score":%d}}`, r.IntN(60), 'A'+r.IntN(3), r.IntN(100000)))
		}
		w.endItem(parity)
	}
	if n > 1 {
		w.s(`]}`)
	}
	return w.t
}

// touchpointsTemplate returns a template of {"touchpoints":[...]} with n of them, as an
// ad network sends them: mostly clicks, some impressions, with the device's ids.
func (g *traffic) touchpointsTemplate(n int) template {
	var w tplWriter
	r := g.rng
	w.s(`{"touchpoints":[`)
	for i := range min(n, 1000) {
		if i > 0 {
			w.s(",")
		}
		parity := uint8(r.IntN(2))
		dev := pick(r, iosDevices)
		if parity == 1 {
			dev = pick(r, androidDevices)
		}
		typ := "click"
		if r.IntN(10) < 3 {
			typ = "impression"
		}
		src := pick(r, mediaSources)
		w.s(fmt.Sprintf(`{"type":"%s","media_source":"%s","campaign":"%s_campaign_%d","adset":"adset_%d","ad":"video_%d","site_id":"site_%d","channel":"feed","click_id":"%s-`,
			typ, src, src[:4], r.IntN(8), r.IntN(20), r.IntN(50), r.IntN(500), g.cfg.RunID))
		w.slot(slotSeq)
		w.s(`","timestamp":`)
		w.slot(slotTime)
		w.s(`,"ip":"`)
		w.slot(slotIP)
		w.s(`","user_agent":"` + dev.ua + `",`)
		deviceIDs(&w, parity)
		w.s(`}`)
		w.endItem(parity)
	}
	w.s(`]}`)
	return w.t
}

// clickTemplate returns a whole GET /c/{link_id} request of a person's browser, with the
// network's click id and the device's advertising id in the query.
func (g *traffic) clickTemplate() template {
	var w tplWriter
	r := g.rng
	parity := uint8(r.IntN(2))
	dev := pick(r, iosDevices)
	if parity == 1 {
		dev = pick(r, androidDevices)
	}
	w.s("GET " + g.cfg.PathPrefix + "/c/" + g.cfg.LinkID + "?clickid=" + g.cfg.RunID + "-")
	w.slot(slotSeq)
	if parity == 0 {
		w.s("&idfa=6D92078A-8246-4BA4-AE5B-")
	} else {
		w.s("&gaid=38400000-8cf0-11bd-b23e-")
	}
	w.slot(slotDev12)
	w.s(fmt.Sprintf("&site_id=site_%d&sub1=creative_%d HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: text/html\r\nAccept-Language: en-US\r\n\r\n",
		r.IntN(500), r.IntN(30), g.cfg.Host, dev.ua))
	w.endItem(parity)
	return w.t
}
