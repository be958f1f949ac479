package unmogrowp_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// userDocs are the documents a user of the repository reads, which must not point outside
// it.
var userDocs = []string{"README.md", "CONTRIBUTING.md", "CHANGELOG.md", "docs/api.md", "docs/attribution.md", "docs/deploy.md", "docs/skan.md", "docs/cost.md", "docs/export.md", "docs/sdk.md", "docs/links.md", "docs/privacy.md"}

// mdLink finds the targets of Markdown links and images: [text](target).
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// mdHeading finds Markdown headings, for the anchors links point to.
var mdHeading = regexp.MustCompile(`(?m)^#{1,6} +(.+?) *$`)

// TestDocsLinksStayInRepository checks that every relative link of the user documents
// names a file of the repository (not ../something a clone does not have), and that a
// link to a heading (file.md#anchor) names one that exists.
func TestDocsLinksStayInRepository(t *testing.T) {
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range userDocs {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Errorf("%s: %v", doc, err)
			continue
		}
		links := mdLink.FindAllStringSubmatch(string(b), -1)
		for _, m := range links {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			path := doc
			if file != "" {
				path = filepath.Join(filepath.Dir(doc), file)
			}
			abs, err := filepath.Abs(path)
			if err != nil || (abs != root && !strings.HasPrefix(abs, root+string(filepath.Separator))) {
				t.Errorf("%s links to %s, outside the repository", doc, target)
				continue
			}
			if _, err := os.Stat(abs); err != nil {
				t.Errorf("%s links to %s, which is not in the repository", doc, target)
				continue
			}
			if anchor != "" && strings.HasSuffix(abs, ".md") && !hasAnchor(t, abs, anchor) {
				t.Errorf("%s links to %s, but %s has no heading with that anchor", doc, target, file)
			}
		}
	}
}

// hasAnchor reports whether the Markdown file has a heading whose anchor, as GitHub makes
// it (lower case, punctuation dropped, spaces to hyphens), is anchor.
func hasAnchor(t *testing.T, path, anchor string) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mdHeading.FindAllStringSubmatch(string(b), -1) {
		var slug strings.Builder
		for _, r := range strings.ToLower(m[1]) {
			switch {
			case r == ' ' || r == '-':
				slug.WriteRune('-')
			case r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r > 127:
				slug.WriteRune(r)
			}
		}
		if slug.String() == anchor {
			return true
		}
	}
	return false
}
