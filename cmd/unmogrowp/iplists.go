package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

const iplistsUsage = `usage: unmogrowp iplists import FILE [--name NAME] [--data-dir DIR] [--database-url URL]
       unmogrowp iplists list [--data-dir DIR] [--database-url URL]`

// runIPLists is `unmogrowp iplists import|list`: the cloud providers' address ranges of
// the datacenter_ip rule, in the metadata store of the data dir or DATABASE_URL (it may
// run while the server does: running processes read a changed list within
// unmogrowp.IPListRefresh). import reads AWS's ip-ranges.json, Google Cloud's
// cloud.json, Azure's ServiceTags_Public*.json or a plain CIDR-per-line file, and
// replaces the list of the same name: the provider's ("aws", "gcp", "azure"), or for a
// plain file its base name without extension, unless --name says otherwise.
func runIPLists(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if err := subcommand(args, iplistsUsage, stdout, stderr, "import", "list"); err != nil {
		return err
	}
	op := "iplists " + args[0]
	fs := newFlagSet(op, iplistsUsage, stderr)
	dataDir := fs.String("data-dir", envOr(getenv, "UNMOGROWP_DATA_DIR", "./data"), "data directory (env UNMOGROWP_DATA_DIR)")
	databaseURL := fs.String("database-url", getenv("DATABASE_URL"), "PostgreSQL metadata store instead of the data directory's (env DATABASE_URL)")
	name := fs.String("name", "", "the list's name (default: the provider's, or the plain file's base name)")
	rest := args[1:]
	var file string
	if args[0] == "import" && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		file, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		if args[0] != "import" || file != "" {
			return fmt.Errorf("%s: unexpected argument %q", op, fs.Arg(0))
		}
		file = fs.Arg(0)
	}
	if args[0] == "import" && file == "" {
		return fmt.Errorf("%s: the file to import is required", op)
	}
	var list unmogrowp.IPList
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		kind, prefixes, err := unmogrowp.ParseIPList(data)
		if err != nil {
			return fmt.Errorf("%s: %s: %s", op, file, unmogrowp.ErrorMessage(err))
		}
		list = unmogrowp.IPList{Name: kind, Prefixes: prefixes}
		if kind == "plain" {
			list.Name = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
		}
		if *name != "" {
			list.Name = *name
		}
	}
	db, err := openMetadata(ctx, metadataURL(*dataDir, *databaseURL), 0, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	if args[0] == "import" {
		if err := db.PutIPList(ctx, list); err != nil {
			return fmt.Errorf("%s: %s", op, unmogrowp.ErrorMessage(err))
		}
		fmt.Fprintf(stdout, "imported %d prefixes as %q\n", len(list.Prefixes), list.Name)
		return nil
	}
	lists, err := db.IPLists(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tPREFIXES\tIMPORTED")
	for _, l := range lists {
		fmt.Fprintf(w, "%s\t%d\t%s\n", l.Name, len(l.Prefixes), l.ImportedAt.Format(time.RFC3339))
	}
	return w.Flush()
}
