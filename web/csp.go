package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"maps"
	"slices"
	"strings"

	"golang.org/x/net/html"
)

// The security headers of every answer of the dashboard. The policy lets the page run
// only the build's own script files and the inline scripts the build's pages hold
// (SvelteKit's bootstrap, allowed by its hash: no 'unsafe-inline', no 'unsafe-eval'),
// connect to its own origin only (the API), load images and fonts from it only, and be
// framed by no one (clickjacking).
//
// Styles: stylesheets and <style> elements from the build's files only (style-src-elem),
// but inline style attributes are allowed: SvelteKit's route announcer, ECharts' tooltips
// and Svelte's style bindings set them, some in HTML parsed at run time, which no hash can
// list. A style attribute cannot run script, and with images and fonts limited to 'self'
// it cannot send anything to another site either. (style-src says the same for browsers
// that predate style-src-elem, which had no policy at all before.)
const (
	referrerPolicy = "same-origin" // the API's paths and ids never leave for another site
	frameOptions   = "DENY"        // frame-ancestors 'none' for browsers that predate CSP 2
)

// contentSecurityPolicy returns the policy for a build whose pages hold the inline scripts
// of the given hashes ("sha256-<base64>").
func contentSecurityPolicy(scriptHashes []string) string {
	scripts := "'self'"
	for _, h := range scriptHashes {
		scripts += " '" + h + "'"
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src " + scripts,
		"style-src 'self' 'unsafe-inline'",
		"style-src-elem 'self'",
		"img-src 'self' data:",
		"font-src 'self'",
		"connect-src 'self'",
		"manifest-src 'self'",
		"base-uri 'none'",
		"form-action 'self'",
		"frame-ancestors 'none'",
	}, "; ")
}

// inlineScriptHashes returns the CSP hashes ("sha256-<base64>") of the inline scripts
// (those without src) of the HTML pages, each once, sorted.
func inlineScriptHashes(pages ...[]byte) []string {
	set := map[string]bool{}
	for _, page := range pages {
		// A tokenizer over bytes fails only at the end of its input.
		z := html.NewTokenizer(bytes.NewReader(page))
		inScript := false
		for tt := z.Next(); tt != html.ErrorToken; tt = z.Next() {
			switch tt {
			case html.StartTagToken:
				name, hasAttr := z.TagName()
				inScript = string(name) == "script"
				for hasAttr && inScript {
					var key []byte
					key, _, hasAttr = z.TagAttr()
					if string(key) == "src" {
						inScript = false
					}
				}
			case html.TextToken:
				if inScript {
					// A script's text comes raw, as the browser hashes it.
					sum := sha256.Sum256(z.Raw())
					set["sha256-"+base64.StdEncoding.EncodeToString(sum[:])] = true
				}
			default:
				inScript = false
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}
