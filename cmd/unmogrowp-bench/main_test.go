package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
)

// TestRun: the bench command answers its three subcommands' help, and nothing else.
func TestRun(t *testing.T) {
	for _, tc := range []struct {
		args []string
		ok   bool
		want string // in the output or the error
	}{
		{[]string{"loadgen", "-h"}, true, "-visible"},
		{[]string{"baseline", "-h"}, true, "-addr"},
		{[]string{"report", "-h"}, true, "-dir"},
		{[]string{"help"}, true, "usage: unmogrowp-bench"},
		{[]string{"report"}, false, "--dir is required"},
		{[]string{"serve"}, false, `unknown command "serve"`}, // the product's commands are unmogrowp's
		{nil, false, "no command given"},
	} {
		var out bytes.Buffer
		err := run(context.Background(), tc.args, &out, &out)
		if err != nil {
			out.WriteString(err.Error())
		}
		if ok := err == nil || errors.Is(err, flag.ErrHelp); ok != tc.ok || !strings.Contains(out.String(), tc.want) {
			t.Errorf("unmogrowp-bench %v: error %v, want it to succeed: %v and print %q:\n%s", tc.args, err, tc.ok, tc.want, out.String())
		}
	}
}
