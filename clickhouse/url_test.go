package clickhouse

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// TestOpenURL: the URL given to Open decides the servers and the database, over opts.
func TestOpenURL(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	ctx := context.Background()
	opts := Options{Addr: []string{"192.0.2.1:9000"}, Database: "from_opts", DialTimeout: time.Second}
	// A closed port in the URL answers EUNAVAILABLE at once, where opts' address would hang.
	if _, err := Open(ctx, "clickhouse://u:secret@"+closed+"/db", opts); unmogrowp.ErrorCode(err) != unmogrowp.EUNAVAILABLE {
		t.Errorf("Open on the URL's closed port: %v, want code %s", err, unmogrowp.EUNAVAILABLE)
	}
	// The URL's database is checked, not opts'.
	if _, err := Open(ctx, "clickhouse://"+closed+"/not-a-name", opts); unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
		t.Errorf("Open with the URL's bad database: %v, want code %s", err, unmogrowp.EINVALID)
	}
	for _, bad := range []string{"duckdb:///a.duckdb", "clickhouse://h:9000/db?secure=true", "http://h:8123/db"} {
		if _, err := Open(ctx, bad, opts); unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
			t.Errorf("Open(%q): %v, want code %s", bad, err, unmogrowp.EINVALID)
		}
	}
}
