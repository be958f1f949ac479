package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/api"
	"github.com/unmogrowp/unmogrowp/internal/password"
)

const usersUsage = `usage: unmogrowp users reset-password EMAIL [--password-stdin] [--dashboard-url URL]
           [--data-dir DIR] [--database-url URL]`

// runUsers is `unmogrowp users reset-password EMAIL`: an operator's password reset,
// against the metadata store in the data dir (it may run while `serve` does), for servers
// without SMTP_URL or users without their mail. By default it prints a one-time link,
// valid for an hour, to give the user (who chooses the password); with --password-stdin
// it sets the password read from the first line of stdin at once. Either way, once the
// password changes, every session of the user ends.
func runUsers(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if err := subcommand(args, usersUsage, stdout, stderr, "reset-password"); err != nil {
		return err
	}
	fs := newFlagSet("users "+args[0], usersUsage, stderr)
	dataDir := fs.String("data-dir", envOr(getenv, "UNMOGROWP_DATA_DIR", "./data"), "data directory (env UNMOGROWP_DATA_DIR)")
	databaseURL := fs.String("database-url", getenv("DATABASE_URL"), "PostgreSQL metadata store instead of the data directory's (env DATABASE_URL)")
	dashboardURL := fs.String("dashboard-url", getenv("DASHBOARD_URL"), "the dashboard's public base URL, which the link starts with (env DASHBOARD_URL)")
	fromStdin := fs.Bool("password-stdin", false, "set the password read from the first line of stdin instead of printing a link")
	// The email may come before the flags or after them.
	rest := args[1:]
	var email string
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		email, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	const op = "users reset-password"
	if email == "" && fs.NArg() > 0 {
		email = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", op, fs.Arg(0))
	}
	if email == "" {
		fmt.Fprintln(stderr, usersUsage)
		return errUsage
	}
	var newPassword, base string
	if *fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("%s: read the password: %w", op, err)
		}
		newPassword = strings.TrimRight(line, "\r\n")
		if err := unmogrowp.ValidatePassword(newPassword); err != nil {
			return fmt.Errorf("%s: %s", op, unmogrowp.ErrorMessage(err))
		}
	} else {
		if *dashboardURL == "" {
			return fmt.Errorf("%s: --dashboard-url (or DASHBOARD_URL) is required to print a link, such as https://dash.example.com; or set the password with --password-stdin", op)
		}
		var err error
		if base, err = parseBaseURL(*dashboardURL); err != nil {
			return fmt.Errorf("%s: --dashboard-url: %v", op, err)
		}
	}

	db, err := openMetadata(ctx, metadataURL(*dataDir, *databaseURL), 0, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	user, _, err := db.UserByEmail(ctx, email)
	if unmogrowp.ErrorCode(err) == unmogrowp.ENOTFOUND {
		return fmt.Errorf("%s: no user has the email %s", op, email)
	} else if err != nil {
		return fmt.Errorf("%s: find the user: %w", op, err)
	}
	if *fromStdin {
		hash, err := password.Hash(newPassword)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if err := db.SetPassword(ctx, user.ID, hash); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		fmt.Fprintf(stdout, "The password of %s is set; their sessions ended.\n", user.Email)
		return nil
	}
	link, err := api.NewPasswordResetLink(ctx, db, base, user.ID)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	fmt.Fprintf(stdout, "%s\n\nGive this link to %s: it sets a new password once, within an hour. Their sessions end when they use it.\n", link, user.Email)
	return nil
}
