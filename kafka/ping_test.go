package kafka_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// TestPing checks the health check of Log and Reader: nil while a broker answers, and
// EUNAVAILABLE naming Kafka within the caller's deadline when the broker refuses
// connections or stalls (accepts them and answers nothing), or once closed.
func TestPing(t *testing.T) {
	stalled, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	go func() {
		var held []net.Conn // open, never answered
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := stalled.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused.Close()

	for name, brokers := range map[string][]string{
		"up":      startCluster(t),
		"stalled": {stalled.Addr().String()},
		"refused": {refused.Addr().String()},
	} {
		t.Run(name, func(t *testing.T) {
			opts := testOptions(brokers, "ping", "ping")
			l, r := openLog(t, opts), openReader(t, opts)
			for what, ping := range map[string]func(context.Context) error{"log": l.Ping, "reader": r.Ping} {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				start := time.Now()
				err := ping(ctx)
				cancel()
				if took := time.Since(start); took > 2*time.Second {
					t.Errorf("%s: Ping took %s past its 1 s deadline", what, took)
				}
				switch {
				case name == "up" && err != nil:
					t.Errorf("%s: Ping: %v, want nil", what, err)
				case name != "up" && (unmogrowp.ErrorCode(err) != unmogrowp.EUNAVAILABLE || !strings.Contains(unmogrowp.ErrorMessage(err), "Kafka")):
					t.Errorf("%s: Ping: %v, want EUNAVAILABLE naming Kafka", what, err)
				}
			}
			l.Close()
			r.Close()
			if err := l.Ping(context.Background()); unmogrowp.ErrorCode(err) != unmogrowp.EUNAVAILABLE {
				t.Errorf("log: Ping after Close: %v, want EUNAVAILABLE", err)
			}
			if err := r.Ping(context.Background()); unmogrowp.ErrorCode(err) != unmogrowp.EUNAVAILABLE {
				t.Errorf("reader: Ping after Close: %v, want EUNAVAILABLE", err)
			}
		})
	}
}
