package metadatatest

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// linkIDFormat is the format of a link's id: short and URL-safe for /c/{id}, 80 random bits.
var linkIDFormat = regexp.MustCompile(`^lk_[a-z2-7]{16}$`)

// LinkStoreWithApps is what RunLinkStore tests: a link store, and the app store that its
// links belong to.
type LinkStoreWithApps interface {
	unmogrowp.AppStore
	unmogrowp.LinkStore
}

// RunLinkStore runs the conformance suite of unmogrowp.LinkStore. open must return a fresh,
// empty store, isolated from the others (the subtests run in parallel), each time it is
// called, and close it when t ends.
func RunLinkStore(t *testing.T, open func(t *testing.T) LinkStoreWithApps) {
	t.Run("CreateAndGet", func(t *testing.T) { t.Parallel(); testLinkCreateAndGet(t, open(t)) })
	t.Run("CreateInvalid", func(t *testing.T) { t.Parallel(); testLinkCreateInvalid(t, open(t)) })
	t.Run("CreateCanceled", func(t *testing.T) { t.Parallel(); testLinkCreateCanceled(t, open(t)) })
	t.Run("UnknownApp", func(t *testing.T) { t.Parallel(); testLinkUnknownApp(t, open(t)) })
	t.Run("Missing", func(t *testing.T) { t.Parallel(); testLinkMissing(t, open(t)) })
	t.Run("NotAliased", func(t *testing.T) { t.Parallel(); testLinkNotAliased(t, open(t)) })
	t.Run("LinksOrderAndApp", func(t *testing.T) { t.Parallel(); testLinks(t, open(t)) })
	t.Run("DeleteAppDeletesLinks", func(t *testing.T) { t.Parallel(); testLinkDeleteApp(t, open(t)) })
	t.Run("IDFormatAndUniqueness", func(t *testing.T) { t.Parallel(); testLinkIDs(t, open(t)) })
	t.Run("ConcurrentCreate", func(t *testing.T) { t.Parallel(); testLinkConcurrentCreate(t, open(t)) })
	t.Run("Update", func(t *testing.T) { t.Parallel(); testLinkUpdate(t, open(t)) })
	t.Run("Delete", func(t *testing.T) { t.Parallel(); testLinkDelete(t, open(t)) })
}

// fullLink returns a link of the app with every caller-set field non-zero and distinct.
func fullLink(appID, tag string) *unmogrowp.Link {
	return &unmogrowp.Link{
		AppID:         appID,
		MediaSource:   "network_" + tag,
		Campaign:      "campaign " + tag,
		Adset:         "adset-" + tag,
		Ad:            "ad-" + tag,
		SiteID:        "site-" + tag,
		Channel:       "channel-" + tag,
		IOSURL:        "https://apps.apple.com/app/id123456789?ct=" + tag,
		AndroidURL:    "https://play.google.com/store/apps/details?id=com.example&tag=" + tag,
		WebURL:        "myapp://open/" + tag,
		DeepLinkValue: "promo/" + tag,
		// Windows of their own, unlike the app's (fullApp: 14 days, 48 hours).
		ClickLookbackDays: 3,
		ViewLookbackHours: 12,
	}
}

// newApp creates an app for links to belong to and returns its id.
func newApp(t *testing.T, s unmogrowp.AppStore, name string) string {
	t.Helper()
	app := fullApp(name, "user_1")
	create(t, s, app)
	return app.ID
}

// createLink stores link and fails the test on an error.
func createLink(t *testing.T, s unmogrowp.LinkStore, link *unmogrowp.Link) {
	t.Helper()
	if err := s.CreateLink(context.Background(), link); err != nil {
		t.Fatalf("CreateLink(%q): %v", link.MediaSource, err)
	}
}

// getLink reads the link with id and fails the test on an error.
func getLink(t *testing.T, s unmogrowp.LinkStore, id string) *unmogrowp.Link {
	t.Helper()
	link, err := s.Link(context.Background(), id)
	if err != nil {
		t.Fatalf("Link(%q): %v", id, err)
	}
	return link
}

// listLinks lists the app's links and fails the test on an error or a nil slice.
func listLinks(t *testing.T, s unmogrowp.LinkStore, appID string) []*unmogrowp.Link {
	t.Helper()
	links, err := s.Links(context.Background(), appID)
	if err != nil {
		t.Fatalf("Links(%q): %v", appID, err)
	}
	if links == nil {
		t.Fatalf("Links(%q) returned nil, want a non-nil slice", appID)
	}
	return links
}

// wantLink fails the test unless got and want hold the same values (wantStored).
func wantLink(t *testing.T, got, want *unmogrowp.Link) {
	t.Helper()
	wantStored(t, "link", got, want, func(v *unmogrowp.Link) *time.Time { return &v.CreatedAt })
}

// wantLinkIDs fails the test unless links are, in order, the links with ids.
func wantLinkIDs(t *testing.T, links []*unmogrowp.Link, ids ...string) {
	t.Helper()
	got := make([]string, len(links))
	for i, l := range links {
		got[i] = l.ID
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("links %v, want %v", got, ids)
	}
}

func testLinkCreateAndGet(t *testing.T, s LinkStoreWithApps) {
	appID := newApp(t, s, "Links")
	before := time.Now()
	link := fullLink(appID, "full")
	in := *link
	createLink(t, s, link)
	after := time.Now()

	if !linkIDFormat.MatchString(link.ID) {
		t.Errorf("link id %q does not match %s", link.ID, linkIDFormat)
	}
	if link.CreatedAt.Before(before.Add(-time.Millisecond)) || link.CreatedAt.After(after) {
		t.Errorf("CreatedAt %v not within [%v, %v]", link.CreatedAt, before, after)
	}
	if link.CreatedAt.Location() != time.UTC || !link.CreatedAt.Equal(link.CreatedAt.Truncate(time.Microsecond)) {
		t.Errorf("CreatedAt %v is not UTC to the microsecond", link.CreatedAt)
	}
	// The caller's fields are kept as they were given, and read back so.
	in.ID, in.CreatedAt = link.ID, link.CreatedAt
	wantLink(t, link, &in)
	wantLink(t, getLink(t, s, link.ID), link)
	links := listLinks(t, s, appID)
	wantLinkIDs(t, links, link.ID)
	wantLink(t, links[0], link)

	// A minimal link: only its media source. Surrounding spaces are trimmed, as
	// Link.Validate does, before the link is stored.
	minimal := &unmogrowp.Link{AppID: appID, MediaSource: "  organic_social \t", Campaign: " summer "}
	createLink(t, s, minimal)
	if minimal.MediaSource != "organic_social" || minimal.Campaign != "summer" {
		t.Errorf("CreateLink left media source %q, campaign %q untrimmed", minimal.MediaSource, minimal.Campaign)
	}
	got := getLink(t, s, minimal.ID)
	want := unmogrowp.Link{ID: minimal.ID, AppID: appID, MediaSource: "organic_social",
		Campaign: "summer", CreatedAt: minimal.CreatedAt}
	wantLink(t, got, &want)

	// Fields at their limits are kept whole, and unusual characters as they are.
	long := &unmogrowp.Link{
		AppID:         appID,
		MediaSource:   strings.Repeat("m", unmogrowp.MaxLinkFieldLen),
		Campaign:      "Été 2025 — «promo» 'quoted' \"double\" ; DROP TABLE links; --",
		DeepLinkValue: strings.Repeat("d", unmogrowp.MaxLinkFieldLen),
		IOSURL:        "https://apps.apple.com/app/id1?x=" + strings.Repeat("u", unmogrowp.MaxURLLen-33),
	}
	if len(long.IOSURL) != unmogrowp.MaxURLLen {
		t.Fatalf("test bug: ios url is %d bytes", len(long.IOSURL))
	}
	wantLong := *long
	createLink(t, s, long)
	wantLong.ID, wantLong.CreatedAt = long.ID, long.CreatedAt
	wantLink(t, getLink(t, s, long.ID), &wantLong)

	// An ID the caller sets is replaced: callers never choose ids, nor overwrite a link.
	preset := fullLink(appID, "preset")
	preset.ID = link.ID
	createLink(t, s, preset)
	if preset.ID == link.ID || !linkIDFormat.MatchString(preset.ID) {
		t.Errorf("CreateLink kept the caller's id %q (got %q)", link.ID, preset.ID)
	}
	wantLink(t, getLink(t, s, link.ID), link)
	if n := len(listLinks(t, s, appID)); n != 4 {
		t.Errorf("Links lists %d links, want 4", n)
	}
}

func testLinkCreateInvalid(t *testing.T, s LinkStoreWithApps) {
	ctx := context.Background()
	appID := newApp(t, s, "Invalid")
	over := strings.Repeat("x", unmogrowp.MaxLinkFieldLen+1)
	for _, tc := range []struct {
		name, mention string
		mutate        func(*unmogrowp.Link)
	}{
		{"NoMediaSource", "media_source", func(l *unmogrowp.Link) { l.MediaSource = "" }},
		{"BlankMediaSource", "media_source", func(l *unmogrowp.Link) { l.MediaSource = " \t\n" }},
		{"LongMediaSource", "media_source", func(l *unmogrowp.Link) { l.MediaSource = over }},
		{"LongCampaign", "campaign", func(l *unmogrowp.Link) { l.Campaign = over }},
		{"LongAdset", "adset", func(l *unmogrowp.Link) { l.Adset = over }},
		{"LongAd", "ad", func(l *unmogrowp.Link) { l.Ad = over }},
		{"LongSiteID", "site_id", func(l *unmogrowp.Link) { l.SiteID = over }},
		{"LongChannel", "channel", func(l *unmogrowp.Link) { l.Channel = over }},
		{"LongDeepLinkValue", "deep_link_value", func(l *unmogrowp.Link) { l.DeepLinkValue = over }},
		{"LongURL", "web_url", func(l *unmogrowp.Link) {
			l.WebURL = "https://example.com/" + strings.Repeat("p", unmogrowp.MaxURLLen)
		}},
		{"JavaScriptURL", "ios_url", func(l *unmogrowp.Link) { l.IOSURL = "javascript:alert(1)" }},
		{"JavaScriptURLUpperCase", "android_url", func(l *unmogrowp.Link) { l.AndroidURL = "JavaScript:alert(document.cookie)" }},
		{"DataURL", "web_url", func(l *unmogrowp.Link) { l.WebURL = "data:text/html,<script>alert(1)</script>" }},
		{"VBScriptURL", "web_url", func(l *unmogrowp.Link) { l.WebURL = "vbscript:msgbox(1)" }},
		{"RelativeURL", "web_url", func(l *unmogrowp.Link) { l.WebURL = "/landing?x=1" }},
		{"SchemeRelativeURL", "ios_url", func(l *unmogrowp.Link) { l.IOSURL = "//evil.example/app" }},
		{"NoScheme", "android_url", func(l *unmogrowp.Link) { l.AndroidURL = "play.google.com/store/apps/details?id=x" }},
		{"HTTPSWithoutHost", "web_url", func(l *unmogrowp.Link) { l.WebURL = "https:///path" }},
		{"SpaceInURL", "ios_url", func(l *unmogrowp.Link) { l.IOSURL = "https://apps.apple.com/app/id1 x" }},
		{"ClickLookbackHigh", "click_lookback_days", func(l *unmogrowp.Link) { l.ClickLookbackDays = 31 }},
		{"ClickLookbackNegative", "click_lookback_days", func(l *unmogrowp.Link) { l.ClickLookbackDays = -1 }},
		{"ViewLookbackHigh", "view_lookback_hours", func(l *unmogrowp.Link) { l.ViewLookbackHours = 169 }},
		{"ViewLookbackNegative", "view_lookback_hours", func(l *unmogrowp.Link) { l.ViewLookbackHours = -5 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			link := fullLink(appID, "invalid")
			tc.mutate(link)
			// The message names the field at fault: "ad must ...", not "adset must ...".
			wantMessage(t, s.CreateLink(ctx, link), unmogrowp.EINVALID, tc.mention+" ")
			if link.ID != "" || !link.CreatedAt.IsZero() {
				t.Errorf("rejected link was given ID %q, CreatedAt %v", link.ID, link.CreatedAt)
			}
		})
	}
	t.Run("Nil", func(t *testing.T) {
		wantCode(t, s.CreateLink(ctx, nil), unmogrowp.EINVALID)
	})
	t.Run("InvalidForUnknownApp", func(t *testing.T) {
		// Checking the link needs nothing stored: an invalid link is EINVALID whatever its app.
		link := fullLink("app_doesnotexist0000", "x")
		link.MediaSource = ""
		wantCode(t, s.CreateLink(ctx, link), unmogrowp.EINVALID)
	})
	wantLinkIDs(t, listLinks(t, s, appID))
}

func testLinkCreateCanceled(t *testing.T, s LinkStoreWithApps) {
	appID := newApp(t, s, "Canceled")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	link := fullLink(appID, "canceled")
	if err := s.CreateLink(ctx, link); !errors.Is(err, context.Canceled) {
		t.Fatalf("CreateLink with a canceled context: %v, want context.Canceled", err)
	}
	wantLinkIDs(t, listLinks(t, s, appID))
}

func testLinkUnknownApp(t *testing.T, s LinkStoreWithApps) {
	ctx := context.Background()
	appID := newApp(t, s, "Known")
	for _, id := range []string{"app_doesnotexist0000", "", "'; DROP TABLE links; --", appID + " ", strings.ToUpper(appID)} {
		link := fullLink(id, "unknown")
		wantCode(t, s.CreateLink(ctx, link), unmogrowp.ENOTFOUND)
		if link.ID != "" {
			t.Errorf("link of unknown app %q was given ID %q", id, link.ID)
		}
	}
	wantLinkIDs(t, listLinks(t, s, appID))
}

func testLinkMissing(t *testing.T, s LinkStoreWithApps) {
	ctx := context.Background()
	appID := newApp(t, s, "Missing")
	link := fullLink(appID, "present")
	createLink(t, s, link)
	for _, id := range []string{
		"lk_doesnotexist0000", "", "'; DROP TABLE links; --", appID,
		link.ID + " ", strings.ToUpper(link.ID), link.ID[:len(link.ID)-1], "%", "lk_%",
	} {
		got, err := s.Link(ctx, id)
		wantCode(t, err, unmogrowp.ENOTFOUND)
		if got != nil {
			t.Errorf("Link(%q) returned %+v with the error", id, got)
		}
	}
	for _, id := range []string{"app_doesnotexist0000", "", "%", link.ID} {
		wantLinkIDs(t, listLinks(t, s, id))
	}
	wantLink(t, getLink(t, s, link.ID), link)
}

// testLinkNotAliased checks that the store keeps its own copy: changing the link given to
// CreateLink, or one returned, changes nothing stored.
func testLinkNotAliased(t *testing.T, s LinkStoreWithApps) {
	appID := newApp(t, s, "Aliases")
	link := fullLink(appID, "kept")
	createLink(t, s, link)
	want := *link

	link.Campaign = "changed after create"
	got := getLink(t, s, want.ID)
	got.WebURL = "https://changed.example/"
	listed := listLinks(t, s, appID)
	listed[0].MediaSource = "changed_in_list"

	wantLink(t, getLink(t, s, want.ID), &want)
	wantLink(t, listLinks(t, s, appID)[0], &want)
}

func testLinks(t *testing.T, s LinkStoreWithApps) {
	a := newApp(t, s, "Alpha")
	b := newApp(t, s, "Beta")
	empty := newApp(t, s, "Empty")
	var made []*unmogrowp.Link
	for i, appID := range []string{a, b, a, a, b, a} {
		link := fullLink(appID, fmt.Sprint(i))
		createLink(t, s, link)
		made = append(made, link)
		time.Sleep(2 * time.Millisecond) // distinct creation times, so the order is known
	}
	for _, tc := range []struct {
		name, appID string
		want        []int // indexes into made, newest first
	}{
		{"Alpha", a, []int{5, 3, 2, 0}},
		{"Beta", b, []int{4, 1}},
		{"NoLinks", empty, nil},
		{"UnknownApp", "app_doesnotexist0000", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := listLinks(t, s, tc.appID)
			if len(got) != len(tc.want) {
				t.Fatalf("Links(%q) returned %d links, want %d", tc.appID, len(got), len(tc.want))
			}
			for i, j := range tc.want {
				wantLink(t, got[i], made[j])
			}
		})
	}
}

func testLinkDeleteApp(t *testing.T, s LinkStoreWithApps) {
	ctx := context.Background()
	gone := newApp(t, s, "Gone")
	kept := newApp(t, s, "Kept")
	var goneLinks, keptLinks []*unmogrowp.Link
	for i := range 3 {
		g := fullLink(gone, fmt.Sprintf("gone%d", i))
		createLink(t, s, g)
		goneLinks = append(goneLinks, g)
		k := fullLink(kept, fmt.Sprintf("kept%d", i))
		createLink(t, s, k)
		keptLinks = append(keptLinks, k)
	}

	if err := s.DeleteApp(ctx, gone); err != nil {
		t.Fatalf("DeleteApp: %v", err)
	}
	for _, l := range goneLinks {
		_, err := s.Link(ctx, l.ID)
		wantCode(t, err, unmogrowp.ENOTFOUND)
	}
	wantLinkIDs(t, listLinks(t, s, gone))
	wantCode(t, s.CreateLink(ctx, fullLink(gone, "late")), unmogrowp.ENOTFOUND)

	for _, l := range keptLinks {
		wantLink(t, getLink(t, s, l.ID), l)
	}
	if n := len(listLinks(t, s, kept)); n != len(keptLinks) {
		t.Fatalf("the kept app lists %d links, want %d", n, len(keptLinks))
	}
}

func testLinkIDs(t *testing.T, s LinkStoreWithApps) {
	apps := []string{newApp(t, s, "One"), newApp(t, s, "Two")}
	seen := map[string]bool{apps[0]: true, apps[1]: true}
	const n = 200
	for i := range n {
		link := &unmogrowp.Link{AppID: apps[i%2], MediaSource: "same", Campaign: "same"}
		createLink(t, s, link)
		if !linkIDFormat.MatchString(link.ID) {
			t.Fatalf("link id %q does not match %s", link.ID, linkIDFormat)
		}
		if seen[link.ID] {
			t.Fatalf("link id %q repeats", link.ID)
		}
		seen[link.ID] = true
	}
	if got := len(listLinks(t, s, apps[0])) + len(listLinks(t, s, apps[1])); got != n {
		t.Fatalf("Links lists %d links, want %d", got, n)
	}
}

// testLinkConcurrentCreate creates links from 8 goroutines, each reading back its own link
// at once, and checks that every link is stored once, listed in order, under its app.
func testLinkConcurrentCreate(t *testing.T, s LinkStoreWithApps) {
	ctx := context.Background()
	apps := []string{newApp(t, s, "A"), newApp(t, s, "B")}
	const workers, perWorker = 8, 25
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		made = map[string]*unmogrowp.Link{}
		errs = make(chan error, workers)
	)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				link := fullLink(apps[w%2], fmt.Sprintf("w%dn%d", w, i))
				if err := s.CreateLink(ctx, link); err != nil {
					errs <- fmt.Errorf("CreateLink: %w", err)
					return
				}
				got, err := s.Link(ctx, link.ID)
				if err != nil {
					errs <- fmt.Errorf("read a link right after CreateLink: %w", err)
					return
				}
				if got.MediaSource != link.MediaSource || got.AppID != link.AppID {
					errs <- fmt.Errorf("Link(%s) returned %+v, want %+v", link.ID, got, link)
					return
				}
				mu.Lock()
				made[link.ID] = link
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	if len(made) != workers*perWorker {
		t.Fatalf("%d distinct link ids, want %d", len(made), workers*perWorker)
	}
	total := 0
	for _, appID := range apps {
		links := listLinks(t, s, appID)
		total += len(links)
		if len(links) != workers*perWorker/2 {
			t.Errorf("app %s lists %d links, want %d", appID, len(links), workers*perWorker/2)
		}
		for i, l := range links {
			m, ok := made[l.ID]
			if !ok || m.AppID != appID {
				t.Fatalf("listed link %s was not made for app %s", l.ID, appID)
			}
			wantLink(t, l, m)
			if i > 0 {
				p := links[i-1]
				if l.CreatedAt.After(p.CreatedAt) || (l.CreatedAt.Equal(p.CreatedAt) && l.ID > p.ID) {
					t.Fatalf("Links not newest first (ties by id, greatest first) at %d: %s %v after %s %v",
						i, l.ID, l.CreatedAt, p.ID, p.CreatedAt)
				}
			}
		}
	}
	if total != workers*perWorker {
		t.Fatalf("Links lists %d links in all, want %d", total, workers*perWorker)
	}
}

// RunLinkTies gives links the same creation time, which RunLinkStore cannot: Links must
// order them by id, greatest first, byte by byte. sameTime sets every link's creation time
// to one value in the store. It returns the id of the app that owns the links.
func RunLinkTies(t *testing.T, db Store, sameTime func(ctx context.Context) error) string {
	t.Helper()
	ctx := context.Background()
	app := &unmogrowp.App{Name: "Ties", Settings: unmogrowp.DefaultAppSettings()}
	if _, err := db.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 20 {
		l := &unmogrowp.Link{AppID: app.ID, MediaSource: "tie"}
		if err := db.CreateLink(ctx, l); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, l.ID)
	}
	if err := sameTime(ctx); err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	slices.Reverse(ids)
	links, err := db.Links(ctx, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range links {
		got = append(got, l.ID)
	}
	if !slices.Equal(got, ids) {
		t.Errorf("links with equal times in order %v, want %v", got, ids)
	}
	return app.ID
}

// testLinkUpdate replaces every caller-set field of a link, clears its windows back to the
// app's, and checks what may not change (id, app, creation time) and what is refused.
func testLinkUpdate(t *testing.T, s LinkStoreWithApps) {
	ctx := context.Background()
	appID := newApp(t, s, "Update")
	other := newApp(t, s, "Other")
	link := fullLink(appID, "before")
	createLink(t, s, link)
	neighbour := fullLink(appID, "neighbour")
	createLink(t, s, neighbour)

	changed := fullLink(appID, "after")
	changed.ID = link.ID
	changed.MediaSource = "  trimmed_source "
	changed.ClickLookbackDays, changed.ViewLookbackHours = 30, 168
	changed.CreatedAt = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC) // not the caller's to set
	if err := s.UpdateLink(ctx, changed); err != nil {
		t.Fatalf("UpdateLink: %v", err)
	}
	if changed.MediaSource != "trimmed_source" || !changed.CreatedAt.Equal(link.CreatedAt) {
		t.Errorf("UpdateLink left media source %q, created at %v; want trimmed, %v", changed.MediaSource, changed.CreatedAt, link.CreatedAt)
	}
	want := *changed
	want.CreatedAt = link.CreatedAt
	wantLink(t, getLink(t, s, link.ID), &want)
	wantLink(t, getLink(t, s, neighbour.ID), neighbour)

	// Back to a minimal link: every optional field cleared, the windows back to the app's.
	minimal := &unmogrowp.Link{ID: link.ID, AppID: appID, MediaSource: "minimal"}
	if err := s.UpdateLink(ctx, minimal); err != nil {
		t.Fatalf("UpdateLink to a minimal link: %v", err)
	}
	wantLink(t, getLink(t, s, link.ID), &unmogrowp.Link{ID: link.ID, AppID: appID, MediaSource: "minimal", CreatedAt: link.CreatedAt})

	// Refused: invalid fields, as on create, and links the app does not have.
	bad := *minimal
	bad.ClickLookbackDays = 31
	wantMessage(t, s.UpdateLink(ctx, &bad), unmogrowp.EINVALID, "click_lookback_days ")
	bad = *minimal
	bad.WebURL = "javascript:alert(1)"
	wantMessage(t, s.UpdateLink(ctx, &bad), unmogrowp.EINVALID, "web_url ")
	wantCode(t, s.UpdateLink(ctx, nil), unmogrowp.EINVALID)
	for _, tc := range []struct{ name, appID, id string }{
		{"OtherApp", other, link.ID},
		{"UnknownApp", "app_doesnotexist0000", link.ID},
		{"UnknownLink", appID, "lk_doesnotexist0000"},
		{"Empty", appID, ""},
		{"Pattern", appID, "lk_%"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := fullLink(tc.appID, "stranger")
			l.ID = tc.id
			wantCode(t, s.UpdateLink(ctx, l), unmogrowp.ENOTFOUND)
		})
	}
	wantLink(t, getLink(t, s, link.ID), &unmogrowp.Link{ID: link.ID, AppID: appID, MediaSource: "minimal", CreatedAt: link.CreatedAt})
	if got := listLinks(t, s, other); len(got) != 0 {
		t.Errorf("the other app has %d links after the refused updates, want none", len(got))
	}
}

// testLinkDelete deletes a link: it is gone from Link and Links, its neighbours and the
// other app's links stay, and a second delete, or one through another app, is ENOTFOUND.
func testLinkDelete(t *testing.T, s LinkStoreWithApps) {
	ctx := context.Background()
	appID := newApp(t, s, "Delete")
	other := newApp(t, s, "Other")
	gone := fullLink(appID, "gone")
	createLink(t, s, gone)
	kept := fullLink(appID, "kept")
	createLink(t, s, kept)
	foreign := fullLink(other, "foreign")
	createLink(t, s, foreign)

	wantCode(t, s.DeleteLink(ctx, other, gone.ID), unmogrowp.ENOTFOUND)
	wantLink(t, getLink(t, s, gone.ID), gone)
	if err := s.DeleteLink(ctx, appID, gone.ID); err != nil {
		t.Fatalf("DeleteLink: %v", err)
	}
	_, err := s.Link(ctx, gone.ID)
	wantCode(t, err, unmogrowp.ENOTFOUND)
	wantLinkIDs(t, listLinks(t, s, appID), kept.ID)
	wantLink(t, getLink(t, s, kept.ID), kept)
	wantLink(t, getLink(t, s, foreign.ID), foreign)
	for _, id := range []string{gone.ID, "", "lk_%", foreign.ID} {
		wantCode(t, s.DeleteLink(ctx, appID, id), unmogrowp.ENOTFOUND)
	}
	wantLinkIDs(t, listLinks(t, s, other), foreign.ID)
	// The deleted link's id is not taken over by an update either.
	l := fullLink(appID, "revived")
	l.ID = gone.ID
	wantCode(t, s.UpdateLink(ctx, l), unmogrowp.ENOTFOUND)
}
