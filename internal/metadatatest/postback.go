package metadatatest

import (
	"context"
	"reflect"
	"regexp"
	"sync"
	"testing"
	"time"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// postbackIDFormat is the format of a postback's id.
var postbackIDFormat = regexp.MustCompile(`^pb_[a-z2-7]{16}$`)

// PostbackStoreWithApps is what RunPostbackStore tests: a postback store, and the app
// store that its postbacks belong to.
type PostbackStoreWithApps interface {
	unmogrowp.AppStore
	unmogrowp.PostbackStore
}

// RunPostbackStore runs the conformance suite of unmogrowp.PostbackStore. open must return
// a fresh, empty store, isolated from the others (the subtests run in parallel), each time
// it is called, and close it when t ends.
func RunPostbackStore(t *testing.T, open func(t *testing.T) PostbackStoreWithApps) {
	t.Run("CreateAndGet", func(t *testing.T) { t.Parallel(); testPostbackCreateAndGet(t, open(t)) })
	t.Run("CreateInvalid", func(t *testing.T) { t.Parallel(); testPostbackCreateInvalid(t, open(t)) })
	t.Run("Tenancy", func(t *testing.T) { t.Parallel(); testPostbackTenancy(t, open(t)) })
	t.Run("ListOrder", func(t *testing.T) { t.Parallel(); testPostbackList(t, open(t)) })
	t.Run("Update", func(t *testing.T) { t.Parallel(); testPostbackUpdate(t, open(t)) })
	t.Run("Delete", func(t *testing.T) { t.Parallel(); testPostbackDelete(t, open(t)) })
	t.Run("DeleteAppDeletesPostbacks", func(t *testing.T) { t.Parallel(); testPostbackDeleteApp(t, open(t)) })
	t.Run("ConcurrentUpdate", func(t *testing.T) { t.Parallel(); testPostbackConcurrentUpdate(t, open(t)) })
}

// fullPostback returns a POST postback of the app with every field set.
func fullPostback(appID, tag string) *unmogrowp.Postback {
	return &unmogrowp.Postback{
		AppID:        appID,
		Name:         "Network " + tag,
		Kind:         unmogrowp.KindPostback,
		MediaSource:  "network_" + tag,
		SendAll:      true,
		Triggers:     []string{unmogrowp.TriggerInstall, unmogrowp.TriggerEvent, unmogrowp.TriggerRejectedInstall},
		EventTypes:   []string{"purchase", "level_up"},
		Method:       "POST",
		URLTemplate:  "https://postbacks.example/" + tag + "?click={click_id}&c={campaign}",
		BodyTemplate: `{"gaid":"{gaid}","revenue":{event_revenue}}`,
		Headers:      map[string]string{"X-Network-Key": "k-" + tag, "X-Device": "{device_id}"},
		Secret:       "s3cret-" + tag,
		Enabled:      true,
	}
}

func createPostback(t *testing.T, s unmogrowp.PostbackStore, p *unmogrowp.Postback) {
	t.Helper()
	if err := s.CreatePostback(context.Background(), p); err != nil {
		t.Fatalf("CreatePostback(%q): %v", p.Name, err)
	}
}

func getPostback(t *testing.T, s unmogrowp.PostbackStore, appID, id string) *unmogrowp.Postback {
	t.Helper()
	p, err := s.Postback(context.Background(), appID, id)
	if err != nil {
		t.Fatalf("Postback(%s, %s): %v", appID, id, err)
	}
	return p
}

func samePostback(t *testing.T, got, want *unmogrowp.Postback) {
	t.Helper()
	if !got.CreatedAt.Equal(want.CreatedAt) {
		t.Fatalf("created_at = %v, want %v", got.CreatedAt, want.CreatedAt)
	}
	g, w := *got, *want
	g.CreatedAt = w.CreatedAt
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("postback:\n got %+v\nwant %+v", g, w)
	}
}

func testPostbackCreateAndGet(t *testing.T, s PostbackStoreWithApps) {
	appID := newApp(t, s, "Postbacks")
	before := time.Now()
	p := fullPostback(appID, "a")
	createPostback(t, s, p)
	if !postbackIDFormat.MatchString(p.ID) {
		t.Fatalf("id %q does not match %s", p.ID, postbackIDFormat)
	}
	if p.CreatedAt.Before(before.Add(-time.Second)) || p.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Fatalf("created_at %v is not now", p.CreatedAt)
	}
	want := *fullPostback(appID, "a")
	want.ID, want.CreatedAt = p.ID, p.CreatedAt
	samePostback(t, p, &want)
	samePostback(t, getPostback(t, s, appID, p.ID), &want)

	// Defaults filled by Validate, and a GET webhook's empty lists, read back as stored.
	hook := &unmogrowp.Postback{AppID: appID, Name: "Hook", Kind: unmogrowp.KindWebhook, URLTemplate: "https://hooks.example/in"}
	createPostback(t, s, hook)
	got := getPostback(t, s, appID, hook.ID)
	if got.Method != "POST" || !reflect.DeepEqual(got.Triggers, []string{unmogrowp.TriggerInstall}) ||
		got.Enabled || got.SendAll || got.Secret != "" || len(got.EventTypes) != 0 || len(got.Headers) != 0 {
		t.Fatalf("minimal webhook read back as %+v", got)
	}
	samePostback(t, got, hook)
}

func testPostbackCreateInvalid(t *testing.T, s PostbackStoreWithApps) {
	appID := newApp(t, s, "Invalid")
	for name, tc := range map[string]struct {
		edit func(*unmogrowp.Postback)
		code string
		says string
	}{
		"unknown macro":   {func(p *unmogrowp.Postback) { p.URLTemplate = "https://x.example/?a={nope}" }, unmogrowp.EINVALID, "{nope}"},
		"not http":        {func(p *unmogrowp.Postback) { p.URLTemplate = "ftp://x.example/" }, unmogrowp.EINVALID, "url_template"},
		"unknown trigger": {func(p *unmogrowp.Postback) { p.Triggers = []string{"install", "uninstall"} }, unmogrowp.EINVALID, `"uninstall"`},
		"no name":         {func(p *unmogrowp.Postback) { p.Name = " " }, unmogrowp.EINVALID, "name"},
		"unknown app":     {func(p *unmogrowp.Postback) { p.AppID = "app_nosuchapp" }, unmogrowp.ENOTFOUND, "App"},
		"no app":          {func(p *unmogrowp.Postback) { p.AppID = "" }, unmogrowp.ENOTFOUND, "App"},
	} {
		t.Run(name, func(t *testing.T) {
			p := fullPostback(appID, "x")
			tc.edit(p)
			wantMessage(t, s.CreatePostback(context.Background(), p), tc.code, tc.says)
			if p.ID != "" {
				t.Fatalf("a refused postback got the id %q", p.ID)
			}
		})
	}
	wantCode(t, s.CreatePostback(context.Background(), nil), unmogrowp.EINVALID)
	if ps, err := s.Postbacks(context.Background(), appID); err != nil || len(ps) != 0 {
		t.Fatalf("after refused creates: %v, %v; want none", ps, err)
	}
}

// testPostbackTenancy checks that another app's postback is not found by any method.
func testPostbackTenancy(t *testing.T, s PostbackStoreWithApps) {
	ctx := context.Background()
	mine, theirs := newApp(t, s, "Mine"), newApp(t, s, "Theirs")
	p := fullPostback(theirs, "t")
	createPostback(t, s, p)
	_, err := s.Postback(ctx, mine, p.ID)
	wantCode(t, err, unmogrowp.ENOTFOUND)
	name := "Taken"
	_, err = s.UpdatePostback(ctx, mine, p.ID, unmogrowp.PostbackUpdate{Name: &name})
	wantCode(t, err, unmogrowp.ENOTFOUND)
	wantCode(t, s.DeletePostback(ctx, mine, p.ID), unmogrowp.ENOTFOUND)
	if ps, err := s.Postbacks(ctx, mine); err != nil || len(ps) != 0 {
		t.Fatalf("Postbacks(mine) = %v, %v; want none", ps, err)
	}
	if got := getPostback(t, s, theirs, p.ID); got.Name != p.Name {
		t.Fatalf("the other app's postback changed: %+v", got)
	}
	for _, id := range []string{"", "pb_nosuchpostback0", "\xff\x00"} {
		_, err := s.Postback(ctx, theirs, id)
		wantCode(t, err, unmogrowp.ENOTFOUND)
	}
}

func testPostbackList(t *testing.T, s PostbackStoreWithApps) {
	ctx := context.Background()
	appID, other := newApp(t, s, "List"), newApp(t, s, "Other")
	var want []string
	for _, tag := range []string{"1", "2", "3"} {
		p := fullPostback(appID, tag)
		createPostback(t, s, p)
		want = append(want, p.ID)
		createPostback(t, s, fullPostback(other, tag))
	}
	ps, err := s.Postbacks(ctx, appID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, p := range ps {
		got = append(got, p.ID)
		if p.AppID != appID || p.Secret == "" {
			t.Fatalf("listed %+v", p)
		}
		if i > 0 && p.CreatedAt.Before(ps[i-1].CreatedAt) {
			t.Fatalf("not oldest first: %v", got)
		}
	}
	if len(got) != 3 {
		t.Fatalf("Postbacks = %v, want the app's three %v", got, want)
	}
	for _, id := range want {
		if !reflect.DeepEqual(getPostback(t, s, appID, id).ID, id) {
			t.Fatalf("%s not found", id)
		}
	}
	if ps, err := s.Postbacks(ctx, "app_nosuchapp"); err != nil || ps == nil || len(ps) != 0 {
		t.Fatalf("Postbacks(unknown app) = %#v, %v; want an empty slice", ps, err)
	}
}

func testPostbackUpdate(t *testing.T, s PostbackStoreWithApps) {
	ctx := context.Background()
	appID := newApp(t, s, "Update")
	p := fullPostback(appID, "u")
	createPostback(t, s, p)

	// A change of some fields leaves the others, the secret included.
	name, url, disabled := "Renamed", "https://other.example/pb?id={delivery_id}", false
	triggers := []string{unmogrowp.TriggerRejectedInstall}
	got, err := s.UpdatePostback(ctx, appID, p.ID, unmogrowp.PostbackUpdate{Name: &name, URLTemplate: &url, Enabled: &disabled, Triggers: &triggers})
	if err != nil {
		t.Fatal(err)
	}
	want := *p
	want.Name, want.URLTemplate, want.Enabled, want.Triggers = name, url, false, triggers
	samePostback(t, got, &want)
	samePostback(t, getPostback(t, s, appID, p.ID), &want)

	// The secret is replaced, then removed.
	for _, secret := range []string{"new-secret", ""} {
		if _, err := s.UpdatePostback(ctx, appID, p.ID, unmogrowp.PostbackUpdate{Secret: &secret}); err != nil {
			t.Fatal(err)
		}
		if got := getPostback(t, s, appID, p.ID); got.Secret != secret {
			t.Fatalf("secret = %q, want %q", got.Secret, secret)
		}
	}

	// An update that makes it invalid changes nothing.
	bad, get := "https://x.example/?a={nope}", "GET"
	_, err = s.UpdatePostback(ctx, appID, p.ID, unmogrowp.PostbackUpdate{URLTemplate: &bad})
	wantMessage(t, err, unmogrowp.EINVALID, "{nope}")
	_, err = s.UpdatePostback(ctx, appID, p.ID, unmogrowp.PostbackUpdate{Method: &get}) // a body needs POST
	wantMessage(t, err, unmogrowp.EINVALID, "body_template")
	if got := getPostback(t, s, appID, p.ID); got.URLTemplate != url || got.Method != "POST" {
		t.Fatalf("an invalid update changed the postback: %+v", got)
	}
	_, err = s.UpdatePostback(ctx, appID, "pb_nosuchpostback0", unmogrowp.PostbackUpdate{Name: &name})
	wantCode(t, err, unmogrowp.ENOTFOUND)
}

func testPostbackDelete(t *testing.T, s PostbackStoreWithApps) {
	ctx := context.Background()
	appID := newApp(t, s, "Delete")
	p, kept := fullPostback(appID, "d"), fullPostback(appID, "k")
	createPostback(t, s, p)
	createPostback(t, s, kept)
	if err := s.DeletePostback(ctx, appID, p.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.Postback(ctx, appID, p.ID)
	wantCode(t, err, unmogrowp.ENOTFOUND)
	wantCode(t, s.DeletePostback(ctx, appID, p.ID), unmogrowp.ENOTFOUND)
	getPostback(t, s, appID, kept.ID)
}

func testPostbackDeleteApp(t *testing.T, s PostbackStoreWithApps) {
	ctx := context.Background()
	appID := newApp(t, s, "Gone")
	p := fullPostback(appID, "g")
	createPostback(t, s, p)
	if err := s.DeleteApp(ctx, appID); err != nil {
		t.Fatal(err)
	}
	_, err := s.Postback(ctx, appID, p.ID)
	wantCode(t, err, unmogrowp.ENOTFOUND)
}

// testPostbackConcurrentUpdate changes two fields of one postback at once: each update
// reads and writes the postback atomically, so neither change is lost.
func testPostbackConcurrentUpdate(t *testing.T, s PostbackStoreWithApps) {
	ctx := context.Background()
	appID := newApp(t, s, "Race")
	p := fullPostback(appID, "r")
	createPostback(t, s, p)
	for i := range 10 {
		var wg sync.WaitGroup
		name, source := p.Name+" "+string(rune('a'+i)), "network_"+string(rune('a'+i))
		errs := make([]error, 2)
		wg.Go(func() { _, errs[0] = s.UpdatePostback(ctx, appID, p.ID, unmogrowp.PostbackUpdate{Name: &name}) })
		wg.Go(func() {
			_, errs[1] = s.UpdatePostback(ctx, appID, p.ID, unmogrowp.PostbackUpdate{MediaSource: &source})
		})
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if got := getPostback(t, s, appID, p.ID); got.Name != name || got.MediaSource != source {
			t.Fatalf("after two concurrent updates: name %q source %q, want %q %q", got.Name, got.MediaSource, name, source)
		}
	}
}
