package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/fx"
)

const fxUsage = `usage: unmogrowp fx import FILE [--data-dir DIR] [--database-url URL]

FILE is the European Central Bank's historical reference rates (eurofxref-hist.csv:
Date,USD,JPY,... per euro, N/A for no rate) or JSON lines of
{"date":"YYYY-MM-DD","base":"USD","rates":{"EUR":0.92,...}}; - reads standard input.
Each date's rates replace those stored for it.`

// runFX is `unmogrowp fx import FILE`: it loads exchange rates into the metadata store of
// the data dir (or DATABASE_URL's), all of the file's dates in one transaction.
func runFX(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if err := subcommand(args, fxUsage, stdout, stderr, "import"); err != nil {
		return err
	}
	fs := newFlagSet("fx import", fxUsage, stderr)
	dataDir := fs.String("data-dir", envOr(getenv, "UNMOGROWP_DATA_DIR", "./data"), "data directory (env UNMOGROWP_DATA_DIR)")
	databaseURL := fs.String("database-url", getenv("DATABASE_URL"), "PostgreSQL metadata store instead of the data directory's (env DATABASE_URL)")
	// The file comes first on the usage line; flags may follow it.
	var file string
	rest := args[1:]
	if len(rest) > 0 && (rest[0] == "-" || rest[0] != "" && rest[0][0] != '-') {
		file, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return fmt.Errorf("fx import: unexpected argument %q", fs.Arg(0))
	}
	if file == "" {
		fmt.Fprintln(stderr, fxUsage)
		return errUsage
	}
	in := io.Reader(os.Stdin)
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("fx import: %w", err)
		}
		defer f.Close()
		in = f
	}
	rates, err := fx.Read(in)
	if err != nil {
		return fmt.Errorf("fx import %s: %s", file, unmogrowp.ErrorMessage(err))
	}
	if len(rates) == 0 {
		return fmt.Errorf("fx import %s: the file has no rates", file)
	}
	db, err := openMetadata(ctx, metadataURL(*dataDir, *databaseURL), 0, nil)
	if err != nil {
		return fmt.Errorf("fx import: %w", err)
	}
	defer db.Close()
	if err := db.PutFXRates(ctx, rates...); err != nil {
		return fmt.Errorf("fx import: %w", err)
	}
	fmt.Fprintf(stdout, "imported the rates of %d dates, %s to %s\n", len(rates), minDate(rates), maxDate(rates))
	return nil
}

// minDate and maxDate return the earliest and latest date of rates, which is not empty.
func minDate(rates []unmogrowp.FXRates) string {
	d := rates[0].Date
	for _, r := range rates {
		d = min(d, r.Date)
	}
	return d
}

func maxDate(rates []unmogrowp.FXRates) string {
	d := rates[0].Date
	for _, r := range rates {
		d = max(d, r.Date)
	}
	return d
}
