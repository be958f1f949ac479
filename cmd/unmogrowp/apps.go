package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/unmogrowp/unmogrowp"
)

const appsUsage = `usage: unmogrowp apps create --owner EMAIL --name NAME [--platform ios|android|web|other] [--bundle-id ID]
           [--ios-url URL] [--android-url URL] [--web-url URL] [--data-dir DIR] [--database-url URL] [--json]
       unmogrowp apps list [--data-dir DIR] [--database-url URL]`

// runApps is `unmogrowp apps create|list`: app management on the command line, against the
// metadata store in the data dir (it may run while `serve` does). An app belongs to an
// existing user, named by --owner: it shows in their dashboard and answers their token.
func runApps(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if err := subcommand(args, appsUsage, stdout, stderr, "create", "list"); err != nil {
		return err
	}
	fs := newFlagSet("apps "+args[0], appsUsage, stderr)
	dataDir := fs.String("data-dir", envOr(getenv, "UNMOGROWP_DATA_DIR", "./data"), "data directory (env UNMOGROWP_DATA_DIR)")
	databaseURL := fs.String("database-url", getenv("DATABASE_URL"), "PostgreSQL metadata store instead of the data directory's (env DATABASE_URL)")
	owner := fs.String("owner", "", "email of the registered user who owns the app (required)")
	name := fs.String("name", "", "the app's name (required)")
	platform := fs.String("platform", "", "ios, android, web or other")
	bundle := fs.String("bundle-id", "", "bundle id or package name")
	iosURL := fs.String("ios-url", "", "where clicks from iOS go: the App Store page, such as https://apps.apple.com/app/id123")
	androidURL := fs.String("android-url", "", "where clicks from Android go: the Play store page, such as https://play.google.com/store/apps/details?id=com.example")
	webURL := fs.String("web-url", "", "where other clicks go")
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	op := "apps " + args[0]
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", op, fs.Arg(0))
	}

	var app *unmogrowp.App
	var email string
	if args[0] == "create" {
		var err error
		if app, email, err = appFromFlags(*owner, *name, *platform, *bundle, *iosURL, *androidURL, *webURL); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	db, err := openMetadata(ctx, metadataURL(*dataDir, *databaseURL), 0, nil)
	if err != nil {
		return err
	}
	defer db.Close()

	if args[0] == "list" {
		return listApps(ctx, db, stdout)
	}
	user, _, err := db.UserByEmail(ctx, email)
	if unmogrowp.ErrorCode(err) == unmogrowp.ENOTFOUND {
		return fmt.Errorf("%s: --owner %s: no user has this email; register it first (the dashboard's sign-up, or POST /api/auth/register), then create the app", op, email)
	} else if err != nil {
		return fmt.Errorf("%s: find the owner: %w", op, err)
	}
	app.OwnerID = user.ID
	keys, err := db.CreateApp(ctx, app)
	if err != nil {
		return fmt.Errorf("%s: %s", op, unmogrowp.ErrorMessage(err))
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]string{
			"id": app.ID, "name": app.Name, "owner": user.Email, "sdk_key": keys.SDKKey, "server_key": keys.ServerKey, "signing_secret": keys.SigningSecret,
		})
	}
	fmt.Fprintf(stdout, "app_id:         %s\nowner:          %s\nsdk_key:        %s\nserver_key:     %s\nsigning_secret: %s\n\nThe server key is shown only now; store it somewhere safe.\n",
		app.ID, user.Email, keys.SDKKey, keys.ServerKey, keys.SigningSecret)
	return nil
}

// appFromFlags checks the flags of `apps create`, as the API checks POST /api/apps, and
// returns the app to create (without its owner's id) and the owner's normalized email.
func appFromFlags(owner, name, platform, bundle, iosURL, androidURL, webURL string) (*unmogrowp.App, string, error) {
	if owner == "" {
		return nil, "", errors.New("--owner is required: the email of the registered user who will own the app")
	}
	email, err := unmogrowp.NormalizeEmail(owner)
	if err != nil {
		return nil, "", fmt.Errorf("--owner: %s", unmogrowp.ErrorMessage(err))
	}
	if name == "" {
		return nil, "", errors.New("--name is required")
	}
	p, ok := unmogrowp.NormalizePlatform(platform)
	if !ok {
		return nil, "", errors.New("--platform must be ios, android, web or other")
	}
	for _, u := range []struct{ flag, v string }{{"--ios-url", iosURL}, {"--android-url", androidURL}, {"--web-url", webURL}} {
		if err := unmogrowp.ValidateRedirectURL(u.flag, u.v); err != nil {
			return nil, "", errors.New(unmogrowp.ErrorMessage(err))
		}
	}
	return &unmogrowp.App{
		Name: name, Platform: p, BundleID: bundle, IOSURL: iosURL, AndroidURL: androidURL, WebURL: webURL,
		Settings: unmogrowp.DefaultAppSettings(),
	}, email, nil
}

// listApps prints every app with its owner's email ("-" for an app without one).
func listApps(ctx context.Context, db metadataStore, stdout io.Writer) error {
	apps, err := db.Apps(ctx, "")
	if err != nil {
		return err
	}
	owners := map[string]string{"": "-"}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tOWNER\tPLATFORM\tSDK KEY\tCREATED")
	for _, a := range apps {
		owner, ok := owners[a.OwnerID]
		if !ok {
			u, err := db.User(ctx, a.OwnerID)
			if err != nil {
				return fmt.Errorf("apps list: owner of %s: %w", a.ID, err)
			}
			owner, owners[a.OwnerID] = u.Email, u.Email
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Name, owner, a.Platform, a.SDKKey, a.CreatedAt.Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

// subcommand checks that args name one of cmds. A request for help prints usage on
// stdout and returns flag.ErrHelp (exit status 0); anything else prints it on stderr and
// returns errUsage.
func subcommand(args []string, usage string, stdout, stderr io.Writer, cmds ...string) error {
	if len(args) > 0 {
		for _, c := range cmds {
			if args[0] == c {
				return nil
			}
		}
		if isHelp(args[0]) {
			fmt.Fprintln(stdout, usage)
			return flag.ErrHelp
		}
	}
	fmt.Fprintln(stderr, usage)
	return errUsage
}

// newFlagSet returns a flag set for a subcommand whose -h prints usage and the flags.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "%s\n\nflags of %s:\n", usage, name)
		fs.PrintDefaults()
	}
	return fs
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
