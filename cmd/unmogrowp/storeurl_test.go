package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"reflect"
	"strings"
	"testing"

	"github.com/unmogrowp/unmogrowp/clickhouse"
	"github.com/unmogrowp/unmogrowp/kafka"
	"github.com/unmogrowp/unmogrowp/redis"
)

// loadEnv is loadConfig of `serve` with env as the environment and args as the flags.
func loadEnv(env map[string]string, args ...string) (*Config, error) {
	return loadConfig("serve", args, func(k string) string { return env[k] }, io.Discard)
}

func TestConfigURLDefaults(t *testing.T) {
	for _, tt := range []struct {
		args                          []string
		log, analytics, hot, database string
	}{
		{nil, "wal:data/wal", "duckdb:data/analytics.duckdb", "memory:", "sqlite:data/metadata.db"},
		{[]string{"--data-dir", "/var/lib/unmogrowp"}, "wal:///var/lib/unmogrowp/wal", "duckdb:///var/lib/unmogrowp/analytics.duckdb", "memory:", "sqlite:///var/lib/unmogrowp/metadata.db"},
	} {
		c, err := loadEnv(nil, tt.args...)
		if err != nil {
			t.Fatal(err)
		}
		if got := [4]string{c.LogURL, c.AnalyticsURL, c.HotStateURL, c.DatabaseURL}; got != [4]string{tt.log, tt.analytics, tt.hot, tt.database} {
			t.Errorf("%v: URLs %q", tt.args, got)
		}
	}
}

// TestConfigURLs: each store's URL is taken with the schemes of its implementations, and
// anything else stops start-up with one line naming the variable and keeping its secret.
func TestConfigURLs(t *testing.T) {
	for _, tt := range []struct{ env, url string }{
		{"LOG_URL", "wal:///var/lib/unmogrowp/wal"},
		{"LOG_URL", "wal:./data/wal"},
		{"LOG_URL", "kafka://b1:9092,b2:9092/topic?partitions=12&group=g"},
		{"ANALYTICS_URL", "duckdb:///srv/analytics.duckdb"},
		{"ANALYTICS_URL", "clickhouse://user:s3cret@ch:9000/db"},
		{"HOTSTATE_URL", "memory:"},
		{"HOTSTATE_URL", "redis://:s3cret@host:6379/0?prefix=unmogrowp:"},
		{"HOTSTATE_URL", "rediss://user:s3cret@host:6380/1"},
		{"DATABASE_URL", "sqlite:///srv/meta.db"},
		{"DATABASE_URL", "postgres://u:s3cret@db:5432/unmogrowp?sslmode=disable"},
		{"DATABASE_URL", "postgresql://db/unmogrowp"},
	} {
		c, err := loadEnv(map[string]string{tt.env: tt.url})
		if err != nil {
			t.Errorf("%s=%s: %v", tt.env, tt.url, err)
			continue
		}
		got := map[string]string{"LOG_URL": c.LogURL, "ANALYTICS_URL": c.AnalyticsURL, "HOTSTATE_URL": c.HotStateURL, "DATABASE_URL": c.DatabaseURL}[tt.env]
		if got != tt.url {
			t.Errorf("%s=%s: got %s", tt.env, tt.url, got)
		}
	}
	for _, tt := range []struct{ env, url string }{
		{"LOG_URL", "s3://bucket/wal"},
		{"LOG_URL", "duckdb:///a.duckdb"},
		{"LOG_URL", "wal:"},
		{"LOG_URL", "wal://host/dir"},
		{"LOG_URL", "kafka://u:s3cret@b1:9092/t"},
		{"LOG_URL", "kafka://b1:9092/t?acks=1"},
		{"ANALYTICS_URL", "clickhouse://u:s3cret@ch:9000/db?secure=true"},
		{"ANALYTICS_URL", "memory:"},
		{"HOTSTATE_URL", "memory:x"},
		{"HOTSTATE_URL", "redis://:s3cret@host:6379/x"},
		{"HOTSTATE_URL", "redis://:s3cret@host/0?prefix="},
		{"DATABASE_URL", "mysql://u:s3cret@db/x"},
		{"DATABASE_URL", "postgres://u:s3cret@[db/x"},
		{"DATABASE_URL", "sqlite:"},
	} {
		_, err := loadEnv(map[string]string{tt.env: tt.url})
		if err == nil || !strings.Contains(err.Error(), tt.env) || strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s=%s: err %v, want one line naming %s without the password", tt.env, tt.url, err, tt.env)
		}
	}
}

// TestConfigSeedAliases: the seed's variables spell the same stores as the URLs.
func TestConfigSeedAliases(t *testing.T) {
	seed := map[string]string{
		"KAFKA_BROKERS": "b1:9092,b2:9093", "KAFKA_TOPIC": "events", "KAFKA_PARTITIONS": "4", "KAFKA_GROUP": "g1",
		"CLICKHOUSE_HOST": "ch", "CLICKHOUSE_PORT": "9440", "CLICKHOUSE_DATABASE": "stats", "CLICKHOUSE_USERNAME": "app", "CLICKHOUSE_PASSWORD": "p@ss:w/rd",
		"REDIS_HOST": "10.0.0.5", "REDIS_PORT": "6380", "REDIS_PASSWORD": "r?pw", "REDIS_DB": "3", "REDIS_PREFIX": "x:y:",
	}
	urls := map[string]string{
		"LOG_URL":       "kafka://b1:9092,b2:9093/events?partitions=4&group=g1",
		"ANALYTICS_URL": "clickhouse://app:p%40ss%3Aw%2Frd@ch:9440/stats",
		"HOTSTATE_URL":  "redis://:r%3Fpw@10.0.0.5:6380/3?prefix=x%3Ay%3A",
	}
	fromSeed, err := loadEnv(seed)
	if err != nil {
		t.Fatal(err)
	}
	fromURLs, err := loadEnv(urls)
	if err != nil {
		t.Fatal(err)
	}
	same := func(what string, parse func(string) (any, error), a, b string) {
		t.Helper()
		pa, errA := parse(a)
		pb, errB := parse(b)
		if errA != nil || errB != nil || !reflect.DeepEqual(pa, pb) {
			t.Errorf("%s: the seed's variables give %s = %+v (%v), the URL %s = %+v (%v)", what, a, pa, errA, b, pb, errB)
		}
	}
	same("log", func(u string) (any, error) { return kafka.ParseURL(u) }, fromSeed.LogURL, fromURLs.LogURL)
	same("analytics", func(u string) (any, error) { return clickhouse.ParseURL(u) }, fromSeed.AnalyticsURL, fromURLs.AnalyticsURL)
	same("hot state", func(u string) (any, error) { return redis.ParseURL(u) }, fromSeed.HotStateURL, fromURLs.HotStateURL)

	// With only the host variables, the other parts take the seed's defaults.
	c, err := loadEnv(map[string]string{"KAFKA_BROKERS": "b1:9092", "CLICKHOUSE_HOST": "ch", "REDIS_HOST": "r"})
	if err != nil {
		t.Fatal(err)
	}
	same("log defaults", func(u string) (any, error) { return kafka.ParseURL(u) }, c.LogURL, "kafka://b1:9092/unmogrowp-events?partitions=12&group=unmogrowp-consumer")
	same("analytics defaults", func(u string) (any, error) { return clickhouse.ParseURL(u) }, c.AnalyticsURL, "clickhouse://default:@ch:9000/unmogrowp")
	same("hot state defaults", func(u string) (any, error) { return redis.ParseURL(u) }, c.HotStateURL, "redis://r:6379/0?prefix=unmogrowp:")

	// A seed variable without its host variable leaves the store embedded, as before.
	if c, err := loadEnv(map[string]string{"KAFKA_TOPIC": "t", "REDIS_PREFIX": "p:"}); err != nil || c.LogURL != "wal:data/wal" || c.HotStateURL != "memory:" {
		t.Errorf("KAFKA_TOPIC, REDIS_PREFIX alone: %v %v", c, err)
	}
}

// TestConfigURLConflict: a URL and a seed variable that say different things stop start-up
// with one line naming both; the same thing said twice is fine.
func TestConfigURLConflict(t *testing.T) {
	for _, tt := range []struct {
		env        map[string]string
		args       []string
		url, alias string
	}{
		{map[string]string{"LOG_URL": "kafka://b1:9092/a", "KAFKA_TOPIC": "b"}, nil, "LOG_URL", "KAFKA_TOPIC"},
		{map[string]string{"LOG_URL": "kafka://b1:9092/a", "KAFKA_BROKERS": "b2:9092"}, nil, "LOG_URL", "KAFKA_BROKERS"},
		{map[string]string{"LOG_URL": "kafka://b1:9092/a?partitions=4", "KAFKA_PARTITIONS": "12"}, nil, "LOG_URL", "KAFKA_PARTITIONS"},
		{map[string]string{"LOG_URL": "wal:///var/wal"}, []string{"--kafka-brokers", "b1:9092"}, "LOG_URL", "KAFKA_BROKERS"},
		{map[string]string{"ANALYTICS_URL": "duckdb:///a.duckdb", "CLICKHOUSE_HOST": "ch"}, nil, "ANALYTICS_URL", "CLICKHOUSE_HOST"},
		{map[string]string{"ANALYTICS_URL": "clickhouse://u:s3cret@ch:9000/db", "CLICKHOUSE_PASSWORD": "other"}, nil, "ANALYTICS_URL", "CLICKHOUSE_PASSWORD"},
		{map[string]string{"ANALYTICS_URL": "clickhouse://ch:9000/db", "CLICKHOUSE_PORT": "9440"}, nil, "ANALYTICS_URL", "CLICKHOUSE_PORT"},
		{map[string]string{"HOTSTATE_URL": "memory:", "REDIS_HOST": "r"}, nil, "HOTSTATE_URL", "REDIS_HOST"},
		{map[string]string{"HOTSTATE_URL": "redis://:s3cret@r:6379/0", "REDIS_PREFIX": "other:"}, nil, "HOTSTATE_URL", "REDIS_PREFIX"},
		{map[string]string{"HOTSTATE_URL": "redis://:s3cret@r:6379/0", "REDIS_DB": "1"}, nil, "HOTSTATE_URL", "REDIS_DB"},
	} {
		_, err := loadEnv(tt.env, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.url) || !strings.Contains(err.Error(), tt.alias) ||
			strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%v %v: err %v, want one line naming %s and %s", tt.env, tt.args, err, tt.url, tt.alias)
		}
	}
	for _, env := range []map[string]string{
		{"LOG_URL": "kafka://b1:9092,b2:9092/t?partitions=4", "KAFKA_BROKERS": "b1:9092,b2:9092", "KAFKA_TOPIC": "t", "KAFKA_PARTITIONS": "4", "KAFKA_GROUP": "unmogrowp-consumer"},
		{"ANALYTICS_URL": "clickhouse://app:pw@ch:9000/stats", "CLICKHOUSE_HOST": "ch", "CLICKHOUSE_PORT": "9000", "CLICKHOUSE_DATABASE": "stats", "CLICKHOUSE_USERNAME": "app", "CLICKHOUSE_PASSWORD": "pw"},
		{"ANALYTICS_URL": "clickhouse://ch", "CLICKHOUSE_HOST": "ch"},
		{"HOTSTATE_URL": "redis://:pw@r:6379/2?prefix=p:", "REDIS_HOST": "r", "REDIS_PORT": "6379", "REDIS_PASSWORD": "pw", "REDIS_DB": "2", "REDIS_PREFIX": "p:"},
		{"LOG_URL": "wal:///var/wal", "KAFKA_TOPIC": "unused"}, // a companion alone selects nothing
	} {
		if _, err := loadEnv(env); err != nil {
			t.Errorf("%v: %v, want the same store said twice to be fine", env, err)
		}
	}
}

// TestServeKeepsURLSecrets: a store that cannot be opened stops start-up with an error
// that shows its URL without the password, and the log shows none either.
func TestServeKeepsURLSecrets(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	env := map[string]string{
		"UNMOGROWP_DATA_DIR": t.TempDir(),
		"ANALYTICS_URL":      "clickhouse://app:s3cret@" + closed + "/stats",
		"HOTSTATE_URL":       "redis://:s3cret@" + closed + "/0",
	}
	var stderr bytes.Buffer
	err = runServe(context.Background(), []string{"--ingest-addr", "127.0.0.1:0", "--api-addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, &stderr)
	if err == nil || !strings.Contains(err.Error(), "ANALYTICS_URL clickhouse://app:xxxxx@") {
		t.Errorf("err %v, want the analytics store's URL without its password", err)
	}
	if strings.Contains(err.Error(), "s3cret") || strings.Contains(stderr.String(), "s3cret") {
		t.Errorf("the password shows: err %v, log:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "redis://:xxxxx@") {
		t.Errorf("the start-up log does not name the stores:\n%s", stderr.String())
	}
}

// TestSplitNeedsServers: a service of the split deployment names the URLs it lacks.
func TestSplitNeedsServers(t *testing.T) {
	err := runRoles(context.Background(), "ingestion", roleIngestion, nil, func(string) string { return "" }, io.Discard)
	for _, want := range []string{"DATABASE_URL=postgres://", "LOG_URL=kafka://", "HOTSTATE_URL=redis://"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err %v, want it to name %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "ANALYTICS_URL") {
		t.Errorf("err %v names the analytics store, which ingestion does not use", err)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"clickhouse://u:s3cret@h:9000/db":        "clickhouse://u:xxxxx@h:9000/db",
		"redis://:s3cret@h:6379/0?prefix=p:":     "redis://:xxxxx@h:6379/0?prefix=p:",
		"postgres://u:p@ss@h/db?sslmode=disable": "postgres://u:xxxxx@h/db?sslmode=disable",
		"postgres://h/db?user=u&password=s3cret": "postgres://h/db?user=u&password=xxxxx",
		"kafka://b1:9092,b2:9092/t":              "kafka://b1:9092,b2:9092/t",
		"redis://user@h":                         "redis://user@h",
		"wal:///var/wal":                         "wal:///var/wal",
		"plain":                                  "plain",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
