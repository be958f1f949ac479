package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/unmogrowp/unmogrowp"
)

// runApps is `unmogrowp apps create|list`: app management on the command line, against the
// metadata store in the data dir (it may run while `serve` does).
func runApps(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "list") {
		fmt.Fprintln(stderr, "usage: unmogrowp apps create --name NAME [--platform ios|android|web|other] [--data-dir DIR] [--json]\n       unmogrowp apps list [--data-dir DIR]")
		return flag.ErrHelp
	}
	fs := flag.NewFlagSet("apps "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", envOr(getenv, "UNMOGROWP_DATA_DIR", "./data"), "data directory (env UNMOGROWP_DATA_DIR)")
	databaseURL := fs.String("database-url", getenv("DATABASE_URL"), "PostgreSQL metadata store instead of the data directory's (env DATABASE_URL)")
	name := fs.String("name", "", "the app's name (required)")
	platform := fs.String("platform", "", "ios, android, web or other")
	bundle := fs.String("bundle-id", "", "bundle id or package name")
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	db, err := openMetadata(ctx, metadataURL(*dataDir, *databaseURL), nil)
	if err != nil {
		return err
	}
	defer db.Close()

	if args[0] == "list" {
		apps, err := db.Apps(ctx, "")
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tPLATFORM\tSDK KEY\tCREATED")
		for _, a := range apps {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.ID, a.Name, a.Platform, a.SDKKey, a.CreatedAt.Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	}

	if *name == "" {
		return fmt.Errorf("apps create: --name is required")
	}
	p, ok := unmogrowp.NormalizePlatform(*platform)
	if !ok {
		return fmt.Errorf("apps create: --platform must be ios, android, web or other")
	}
	app := &unmogrowp.App{Name: *name, Platform: p, BundleID: *bundle, Settings: unmogrowp.DefaultAppSettings()}
	keys, err := db.CreateApp(ctx, app)
	if err != nil {
		return fmt.Errorf("apps create: %s", unmogrowp.ErrorMessage(err))
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]string{
			"id": app.ID, "name": app.Name, "sdk_key": keys.SDKKey, "server_key": keys.ServerKey, "signing_secret": keys.SigningSecret,
		})
	}
	fmt.Fprintf(stdout, "app_id:         %s\nsdk_key:        %s\nserver_key:     %s\nsigning_secret: %s\n\nThe server key is shown only now; store it somewhere safe.\n",
		app.ID, keys.SDKKey, keys.ServerKey, keys.SigningSecret)
	return nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
