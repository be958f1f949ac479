package migrate

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	ms, err := Load(fstest.MapFS{
		"migrations/0002_links.sql": {Data: []byte("CREATE TABLE links ()")},
		"migrations/0001_apps.sql":  {Data: []byte("CREATE TABLE apps ()")},
		"migrations/README":         {Data: []byte("not a migration")},
	})
	if err != nil || len(ms) != 2 || ms[0].Version != 1 || ms[0].Name != "0001_apps.sql" || ms[1].SQL != "CREATE TABLE links ()" {
		t.Fatalf("Load = %+v, %v", ms, err)
	}
	for name, files := range map[string]fstest.MapFS{
		"a gap":       {"migrations/0001_a.sql": {}, "migrations/0003_c.sql": {}},
		"a repeat":    {"migrations/0001_a.sql": {}, "migrations/0001_b.sql": {}},
		"a bad name":  {"migrations/first.sql": {}},
		"version 0":   {"migrations/0000_a.sql": {}},
		"no underbar": {"migrations/0001.sql": {}},
	} {
		if _, err := Load(files); err == nil || !strings.Contains(err.Error(), "migration") {
			t.Errorf("%s: err %v, want an error naming the migration", name, err)
		}
	}
}
