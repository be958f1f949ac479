package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/duckdb"
)

// storedIDs opens the stopped server's DuckDB file and counts each stored event id.
func storedIDs(t *testing.T, dataDir string) map[string]int {
	t.Helper()
	s, err := duckdb.Open(context.Background(), filepath.Join(dataDir, "analytics.duckdb"), duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	events, err := s.Events(context.Background(), unmogrowp.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for _, e := range events {
		ids[e.EventID]++
	}
	return ids
}

// countStored counts the stopped server's stored events of an app ("" for all).
func countStored(t *testing.T, dataDir, appID string) int64 {
	t.Helper()
	s, err := duckdb.Open(context.Background(), filepath.Join(dataDir, "analytics.duckdb"), duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n, err := s.CountEvents(context.Background(), unmogrowp.EventFilter{AppID: appID})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// testOwner is the email of the user who owns the apps tests create (`apps create
// --owner`): it makes that user in the metadata store of dataDir, or of databaseURL, the
// first time.
func testOwner(t *testing.T, dataDir, databaseURL string) string {
	t.Helper()
	const email = "owner@example.com"
	ctx := context.Background()
	db, err := openMetadata(ctx, metadataURL(dataDir, databaseURL), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, _, err := db.UserByEmail(ctx, email); unmogrowp.ErrorCode(err) == unmogrowp.ENOTFOUND {
		err = db.CreateUser(ctx, &unmogrowp.User{Email: email, Name: "Owner"}, "")
		if err != nil && unmogrowp.ErrorCode(err) != unmogrowp.ECONFLICT {
			t.Fatal(err)
		}
	} else if err != nil {
		t.Fatal(err)
	}
	return email
}
