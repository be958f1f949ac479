package ingest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	json "github.com/goccy/go-json"

	"github.com/unmogrowp/unmogrowp"
)

// The association files that iOS (Universal Links) and Android (App Links) fetch from the
// click domain, so that they open an installed app for its /c/ URLs instead of the
// browser.
const (
	appleAssociationPath = "/.well-known/apple-app-site-association"
	assetLinksPath       = "/.well-known/assetlinks.json"
)

// clickComponent is the part of the domain that the apps handle: tracking links' clicks.
const clickComponent = "/c/*"

// aasa is apple-app-site-association as Apple documents it (applinks, details, appIDs,
// components).
type aasa struct {
	Applinks struct {
		Details []aasaDetail `json:"details"`
	} `json:"applinks"`
}

type aasaDetail struct {
	AppIDs     []string            `json:"appIDs"`
	Components []map[string]string `json:"components"`
}

// assetStatement is one statement of assetlinks.json as Google documents it.
type assetStatement struct {
	Relation []string    `json:"relation"`
	Target   assetTarget `json:"target"`
}

type assetTarget struct {
	Namespace    string   `json:"namespace"`
	PackageName  string   `json:"package_name"`
	Fingerprints []string `json:"sha256_cert_fingerprints"`
}

// AssociationFiles returns apple-app-site-association and assetlinks.json for apps (in
// their order): the first lists the application id of every app with an iOS team id and
// a bundle id (App.IOSAppID) in one detail for the /c/ URLs, the second one statement for
// every app with an Android package and at least one certificate fingerprint (written in
// capitals, as keytool prints them). An application id or statement that repeats is
// listed once.
func AssociationFiles(apps []*unmogrowp.App) (apple, android []byte, err error) {
	var a aasa
	a.Applinks.Details = []aasaDetail{}
	var ids []string
	statements := []assetStatement{}
	for _, app := range apps {
		if id, ok := app.IOSAppID(); ok && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
		s := app.Settings
		if s.AndroidPackage == "" || len(s.AndroidSHA256Fingerprints) == 0 {
			continue
		}
		st := assetStatement{
			Relation: []string{"delegate_permission/common.handle_all_urls"},
			Target:   assetTarget{Namespace: "android_app", PackageName: s.AndroidPackage},
		}
		for _, f := range s.AndroidSHA256Fingerprints {
			if f = strings.ToUpper(f); !slices.Contains(st.Target.Fingerprints, f) {
				st.Target.Fingerprints = append(st.Target.Fingerprints, f)
			}
		}
		if !slices.ContainsFunc(statements, func(o assetStatement) bool {
			return o.Target.PackageName == st.Target.PackageName && slices.Equal(o.Target.Fingerprints, st.Target.Fingerprints)
		}) {
			statements = append(statements, st)
		}
	}
	if len(ids) > 0 {
		a.Applinks.Details = append(a.Applinks.Details, aasaDetail{AppIDs: ids, Components: []map[string]string{{"/": clickComponent}}})
	}
	if apple, err = json.Marshal(a); err != nil {
		return nil, nil, fmt.Errorf("encode apple-app-site-association: %w", err)
	}
	if android, err = json.Marshal(statements); err != nil {
		return nil, nil, fmt.Errorf("encode assetlinks.json: %w", err)
	}
	return apple, android, nil
}

// associations keeps the association files made from every app for a short while (the
// app cache's TTL), since the platforms' verifiers and CDNs may ask often and each asking
// reads every app; Server.ForgetApp drops them, so a change made through this process
// shows at once.
type associations struct {
	apps unmogrowp.AppStore
	ttl  time.Duration
	now  func() time.Time

	mu             sync.Mutex
	apple, android []byte
	expires        time.Time
}

// files returns the association files, from the cache or made anew from the store.
func (c *associations) files(ctx context.Context) (apple, android []byte, err error) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock() // one reading of the store at a time: others wait for its answer
	if c.apple != nil && now.Before(c.expires) {
		return c.apple, c.android, nil
	}
	apps, err := c.apps.Apps(ctx, "")
	if err != nil {
		return nil, nil, err
	}
	if apple, android, err = AssociationFiles(apps); err != nil {
		return nil, nil, err
	}
	c.apple, c.android, c.expires = apple, android, now.Add(c.ttl)
	return apple, android, nil
}

// forget drops the files, so that the next request makes them anew.
func (c *associations) forget() {
	c.mu.Lock()
	c.apple, c.android = nil, nil
	c.mu.Unlock()
}

func (s *Server) handleAppleAssociation(w http.ResponseWriter, r *http.Request) error {
	return s.association(w, r, true)
}

func (s *Server) handleAssetLinks(w http.ResponseWriter, r *http.Request) error {
	return s.association(w, r, false)
}

// association answers one of the association files: 200 application/json, never a
// redirect (both platforms refuse one), cacheable for five minutes.
func (s *Server) association(w http.ResponseWriter, r *http.Request, apple bool) error {
	a, g, err := s.associations.files(r.Context())
	if err != nil {
		s.cfg.Logger.Error("make association files", "err", err)
		return retryLater("The app store cannot be reached; retry later.")
	}
	body := g
	if apple {
		body = a
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
	return nil
}
