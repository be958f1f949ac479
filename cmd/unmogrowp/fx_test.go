package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unmogrowp/unmogrowp/metadata"
)

// TestFXImport imports the ECB's CSV and a JSON-lines file into the data dir's metadata
// store with `fx import`, reads the rates back from the store, and refuses a bad file
// naming its line without storing any of it.
func TestFXImport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"UNMOGROWP_DATA_DIR": dir}
	out, err := runCLI(t, env, "fx", "import", filepath.Join("..", "..", "fx", "testdata", "eurofxref-hist.csv"))
	if err != nil || !strings.Contains(out, "4 dates, 2008-12-31 to 2024-01-05") {
		t.Fatalf("fx import of the ECB file: %q, %v", out, err)
	}
	lines := filepath.Join(t.TempDir(), "rates.jsonl")
	os.WriteFile(lines, []byte(`{"date":"2024-02-01","base":"USD","rates":{"EUR":0.92}}`+"\n"), 0o600)
	if out, err := runCLI(t, nil, "fx", "import", lines, "--data-dir", dir); err != nil || !strings.Contains(out, "1 dates") {
		t.Fatalf("fx import of JSON lines: %q, %v", out, err)
	}
	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, []byte("Date,USD\n2024-03-01,1.1\n2024-03-02,x\n"), 0o600)
	if _, err := runCLI(t, env, "fx", "import", bad); err == nil || !strings.Contains(err.Error(), "line 3, column USD") {
		t.Errorf("fx import of a bad file: %v, want an error naming line 3, column USD", err)
	}

	db, err := metadata.Open(context.Background(), metadata.SQLiteURL(filepath.Join(dir, "metadata.db")), metadata.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if r, err := db.FXRates(ctx, "2024-01-04"); err != nil || r.Base != "EUR" || r.Rates["JPY"] != 158.27 {
		t.Errorf("2024-01-04 = %+v, %v", r, err)
	}
	if r, err := db.FXRates(ctx, "2024-02-01"); err != nil || r.Base != "USD" || r.Rates["EUR"] != 0.92 {
		t.Errorf("2024-02-01 = %+v, %v", r, err)
	}
	if _, err := db.FXRates(ctx, "2024-03-01"); err == nil {
		t.Errorf("a line of the refused file was stored")
	}
}
