package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"text/tabwriter"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/api"
)

const linksUsage = `usage: unmogrowp links create --app APP_ID --media-source SOURCE [--campaign C] [--adset A] [--ad A] [--site-id S] [--channel C]
           [--ios-url URL] [--android-url URL] [--web-url URL] [--deep-link-value V] [--data-dir DIR] [--ingest-url URL] [--json]
       unmogrowp links list --app APP_ID [--data-dir DIR] [--ingest-url URL] [--json]`

// runLinks is `unmogrowp links create|list`: tracking links on the command line, against
// the metadata store in the data dir (it may run while `serve` does). It prints each link's
// click and impression URLs on the ingestion listener's public URL: --ingest-url, else
// what `serve` uses with the same configuration (publicIngestURL).
func runLinks(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if err := subcommand(args, linksUsage, stdout, stderr, "create", "list"); err != nil {
		return err
	}
	fs := newFlagSet("links "+args[0], linksUsage, stderr)
	dataDir := fs.String("data-dir", envOr(getenv, "UNMOGROWP_DATA_DIR", "./data"), "data directory (env UNMOGROWP_DATA_DIR)")
	databaseURL := fs.String("database-url", getenv("DATABASE_URL"), "PostgreSQL metadata store instead of the data directory's (env DATABASE_URL)")
	ingestURL := fs.String("ingest-url", "", "the ingestion listener's public URL, for the click and impression URLs (default: PUBLIC_URL, else http://<INGEST_ADDR>, as serve)")
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
	base, err := publicIngestURL(*ingestURL, getenv)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	db, err := openMetadata(ctx, metadataURL(*dataDir, *databaseURL), 0, nil)
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

// publicIngestURL is the base URL that tracking links' click and impression URLs start
// with, without a trailing slash: flagValue (--ingest-url) if set; else serve's PUBLIC_URL
// setting (from the environment or the UNMOGROWP_CONFIG file); else, as serve, the URL of
// INGEST_ADDR on this machine (http://localhost:8080 by default).
func publicIngestURL(flagValue string, getenv func(string) string) (string, error) {
	if flagValue != "" {
		base, err := parseBaseURL(flagValue)
		if err != nil {
			return "", fmt.Errorf("--ingest-url %w, not %q", err, flagValue)
		}
		return base, nil
	}
	cfg, err := loadConfig("links", nil, getenv, io.Discard)
	if err != nil {
		return "", err
	}
	if cfg.PublicURL != "" {
		return cfg.PublicURL, nil
	}
	return addrURL(cfg.IngestAddr), nil
}

// addrURL is the http URL of a listener's address (host:port) on this machine: localhost
// when the host is empty or unspecified (0.0.0.0, ::).
func addrURL(hostport string) string {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return "http://" + hostport
	}
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
