package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/api"
)

// runLinks is `unmogrowp links create|list`: tracking links on the command line, against
// the metadata store in the data dir (it may run while `serve` does). It prints each link's
// click and impression URLs on the ingestion listener at --ingest-url.
func runLinks(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "list") {
		fmt.Fprintln(stderr, "usage: unmogrowp links create --app APP_ID --media-source SOURCE [--campaign C] [--adset A] [--ad A] [--site-id S] [--channel C]\n"+
			"           [--ios-url URL] [--android-url URL] [--web-url URL] [--deep-link-value V] [--data-dir DIR] [--ingest-url URL] [--json]\n"+
			"       unmogrowp links list --app APP_ID [--data-dir DIR] [--ingest-url URL] [--json]")
		return flag.ErrHelp
	}
	fs := flag.NewFlagSet("links "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", envOr(getenv, "UNMOGROWP_DATA_DIR", "./data"), "data directory (env UNMOGROWP_DATA_DIR)")
	databaseURL := fs.String("database-url", getenv("DATABASE_URL"), "PostgreSQL metadata store instead of the data directory's (env DATABASE_URL)")
	ingestURL := fs.String("ingest-url", "http://localhost:8080", "the ingestion listener's public URL, for the click and impression URLs")
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	var link unmogrowp.Link
	fs.StringVar(&link.AppID, "app", "", "the app's id (required)")
	fs.StringVar(&link.MediaSource, "media-source", "", "ad network or partner id, pid (required)")
	fs.StringVar(&link.Campaign, "campaign", "", "campaign")
	fs.StringVar(&link.Adset, "adset", "", "ad set")
	fs.StringVar(&link.Ad, "ad", "", "ad")
	fs.StringVar(&link.SiteID, "site-id", "", "publisher site id")
	fs.StringVar(&link.Channel, "channel", "", "channel")
	fs.StringVar(&link.IOSURL, "ios-url", "", "where clicks from iOS go (default: the app's)")
	fs.StringVar(&link.AndroidURL, "android-url", "", "where clicks from Android go (default: the app's)")
	fs.StringVar(&link.WebURL, "web-url", "", "where other clicks go (default: the app's)")
	fs.StringVar(&link.DeepLinkValue, "deep-link-value", "", "value handed to the app for deferred deep linking")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	op := "links " + args[0]
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", op, fs.Arg(0))
	}
	if link.AppID == "" {
		return fmt.Errorf("%s: --app is required", op)
	}
	base, err := ingestBase(*ingestURL)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	db, err := openMetadata(ctx, metadataURL(*dataDir, *databaseURL), nil)
	if err != nil {
		return err
	}
	defer db.Close()

	app, err := db.App(ctx, link.AppID)
	if err != nil {
		return fmt.Errorf("%s: %s", op, unmogrowp.ErrorMessage(err))
	}
	if args[0] == "list" {
		links, err := db.Links(ctx, link.AppID)
		if err != nil {
			return err
		}
		if *asJSON {
			out := make([]api.Link, len(links))
			for i, l := range links {
				out[i] = api.NewLink(l, app, base)
			}
			return json.NewEncoder(stdout).Encode(map[string]any{"links": out})
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tMEDIA SOURCE\tCAMPAIGN\tCLICK URL\tCREATED")
		for _, l := range links {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", l.ID, l.MediaSource, l.Campaign, base+"/c/"+l.ID, l.CreatedAt.Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	}

	if link.MediaSource == "" {
		return fmt.Errorf("%s: --media-source is required", op)
	}
	if err := db.CreateLink(ctx, &link); err != nil {
		return fmt.Errorf("%s: %s", op, unmogrowp.ErrorMessage(err))
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(api.NewLink(&link, app, base))
	}
	fmt.Fprintf(stdout, "link_id:        %s\nclick_url:      %s/c/%s\nimpression_url: %s/i/%s\n",
		link.ID, base, link.ID, base, link.ID)
	return nil
}

// ingestBase checks --ingest-url and returns it without a trailing slash.
func ingestBase(s string) (string, error) {
	base, err := parseBaseURL(s)
	if err != nil {
		return "", fmt.Errorf("--ingest-url %w, not %q", err, s)
	}
	return base, nil
}
