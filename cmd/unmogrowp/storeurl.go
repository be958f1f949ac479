package main

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/clickhouse"
	"github.com/unmogrowp/unmogrowp/kafka"
	"github.com/unmogrowp/unmogrowp/redis"
)

// Each store is chosen by one URL, whose scheme names its implementation:
//
//	LOG_URL        wal:DIR            kafka://BROKER[,BROKER...]/TOPIC?partitions=N&group=G
//	ANALYTICS_URL  duckdb:FILE        clickhouse://USER:PASS@HOST[:9000][,HOST...]/DATABASE
//	HOTSTATE_URL   memory:            redis://[USER]:PASS@HOST[:6379]/DB?prefix=P (rediss:// for TLS)
//	DATABASE_URL   sqlite:FILE        postgres://USER:PASS@HOST:5432/DATABASE?sslmode=...
//
// A file URL is scheme:relative/path or scheme:///absolute/path (unmogrowp.FilePath). An
// unset URL is spelled by the seed's variables when the host one is set (KAFKA_BROKERS,
// CLICKHOUSE_HOST, REDIS_HOST, with their companions), else it is the embedded store in
// the data directory.

// checkStoreURL checks that v is empty (the default) or a URL of one of schemes that the
// store's package parses, so that a bad URL stops start-up naming its setting.
func checkStoreURL(v string, schemes ...string) (string, error) {
	if v == "" {
		return "", nil
	}
	scheme := schemeOf(v)
	var err error
	switch {
	case !slices.Contains(schemes, scheme):
		return "", fmt.Errorf("its scheme must be %s", strings.Join(schemes, " or "))
	case scheme == "wal", scheme == "duckdb", scheme == "sqlite":
		_, err = unmogrowp.FilePath(scheme, v)
	case scheme == "memory":
		if v != "memory:" && v != "memory://" {
			err = fmt.Errorf("must be memory:, with nothing after it")
		}
	case scheme == "kafka":
		_, err = kafka.ParseURL(v)
	case scheme == "clickhouse":
		_, err = clickhouse.ParseURL(v)
	case scheme == "redis", scheme == "rediss":
		_, err = redis.ParseURL(v)
	case scheme == "postgres", scheme == "postgresql":
		if _, perr := url.Parse(v); perr != nil {
			err = fmt.Errorf("must look like postgres://user:password@host:5432/database")
		}
	}
	if e, ok := err.(*unmogrowp.Error); ok {
		return "", fmt.Errorf("%s", e.Message)
	}
	return v, err
}

// schemeOf is the scheme of a URL: what comes before its first colon.
func schemeOf(u string) string {
	s, _, _ := strings.Cut(u, ":")
	return s
}

// storeSeam is a store chosen by a URL setting, with the seed's variables that spell a URL
// of its distributed implementation in parts.
type storeSeam struct {
	env      string                          // the URL's setting
	url      func(c *Config) *string         // the URL's field
	embedded func(dataDir string) string     // the URL when nothing is set
	scheme   string                          // the scheme that the seed's variables spell
	vars     []seedVar                       // the seed's variables, the one that selects the store first
	compose  func(c *Config) string          // the URL the seed's variables spell
	parts    func(u string, c *Config) error // sets the seed's fields of c as the URL spells them
}

// seedVar is one of the seed's variables and its field in Config.
type seedVar struct {
	env   string
	field func(c *Config) any
}

var storeSeams = []storeSeam{
	{
		env: "LOG_URL", url: func(c *Config) *string { return &c.LogURL }, scheme: "kafka",
		embedded: func(dir string) string { return unmogrowp.FileURL("wal", filepath.Join(dir, "wal")) },
		vars: []seedVar{
			{"KAFKA_BROKERS", func(c *Config) any { return c.KafkaBrokers }},
			{"KAFKA_TOPIC", func(c *Config) any { return c.KafkaTopic }},
			{"KAFKA_PARTITIONS", func(c *Config) any { return c.KafkaPartitions }},
			{"KAFKA_GROUP", func(c *Config) any { return c.KafkaGroup }},
		},
		compose: func(c *Config) string {
			q := url.Values{"partitions": {strconv.Itoa(c.KafkaPartitions)}, "group": {c.KafkaGroup}}
			return "kafka://" + strings.Join(c.KafkaBrokers, ",") + "/" + c.KafkaTopic + "?" + q.Encode()
		},
		parts: func(u string, c *Config) error {
			o, err := kafka.ParseURL(u)
			c.KafkaBrokers, c.KafkaTopic, c.KafkaPartitions, c.KafkaGroup = o.Brokers, o.Topic, int(o.Partitions), o.Group
			return err
		},
	},
	{
		env: "ANALYTICS_URL", url: func(c *Config) *string { return &c.AnalyticsURL }, scheme: "clickhouse",
		embedded: func(dir string) string { return unmogrowp.FileURL("duckdb", filepath.Join(dir, "analytics.duckdb")) },
		vars: []seedVar{
			{"CLICKHOUSE_HOST", func(c *Config) any { return c.ClickHouseHost }},
			{"CLICKHOUSE_PORT", func(c *Config) any { return c.ClickHousePort }},
			{"CLICKHOUSE_DATABASE", func(c *Config) any { return c.ClickHouseDatabase }},
			{"CLICKHOUSE_USERNAME", func(c *Config) any { return c.ClickHouseUsername }},
			{"CLICKHOUSE_PASSWORD", func(c *Config) any { return c.ClickHousePassword }},
		},
		compose: func(c *Config) string {
			u := url.URL{Scheme: "clickhouse", User: url.UserPassword(c.ClickHouseUsername, c.ClickHousePassword),
				Host: hostPort(c.ClickHouseHost, c.ClickHousePort), Path: "/" + c.ClickHouseDatabase}
			return u.String()
		},
		parts: func(u string, c *Config) error {
			o, err := clickhouse.ParseURL(u)
			if err != nil {
				return err
			}
			c.ClickHouseHost = strings.Join(o.Addr, ",") // a list of servers is no single host
			if len(o.Addr) == 1 {
				c.ClickHouseHost, c.ClickHousePort = splitHostPort(o.Addr[0])
			}
			c.ClickHouseDatabase, c.ClickHouseUsername, c.ClickHousePassword = orDefault(o.Database, clickhouse.DefaultDatabase), orDefault(o.Username, clickhouse.DefaultUsername), o.Password
			return nil
		},
	},
	{
		env: "HOTSTATE_URL", url: func(c *Config) *string { return &c.HotStateURL }, scheme: "redis",
		embedded: func(string) string { return "memory:" },
		vars: []seedVar{
			{"REDIS_HOST", func(c *Config) any { return c.RedisHost }},
			{"REDIS_PORT", func(c *Config) any { return c.RedisPort }},
			{"REDIS_PASSWORD", func(c *Config) any { return c.RedisPassword }},
			{"REDIS_DB", func(c *Config) any { return c.RedisDB }},
			{"REDIS_PREFIX", func(c *Config) any { return c.RedisPrefix }},
		},
		compose: func(c *Config) string {
			u := url.URL{Scheme: "redis", Host: hostPort(c.RedisHost, c.RedisPort), Path: "/" + strconv.Itoa(c.RedisDB),
				RawQuery: url.Values{"prefix": {c.RedisPrefix}}.Encode()}
			if c.RedisPassword != "" {
				u.User = url.UserPassword("", c.RedisPassword)
			}
			return u.String()
		},
		parts: func(u string, c *Config) error {
			o, err := redis.ParseURL(u)
			c.RedisHost, c.RedisPort = splitHostPort(o.Addr)
			c.RedisPassword, c.RedisDB, c.RedisPrefix = o.Password, o.DB, o.Prefix
			return err
		},
	},
	{
		env: "DATABASE_URL", url: func(c *Config) *string { return &c.DatabaseURL },
		embedded: func(dir string) string { return metadataURL(dir, "") },
	},
}

// resolveStoreURLs sets each store's URL: the one set, or the one the seed's variables
// spell when their host variable is set, or the embedded store in the data directory. A
// URL set beside a seed variable that says otherwise (another host, topic, password...)
// is an error naming both, whatever their sources; the same thing said twice is fine.
func resolveStoreURLs(c *Config, source map[string]string) error {
	for _, s := range storeSeams {
		u := s.url(c)
		urlSet := source[s.env] != "default"
		var seedSet []seedVar
		for _, v := range s.vars {
			if source[v.env] != "default" {
				seedSet = append(seedSet, v)
			}
		}
		hostSet := len(s.vars) > 0 && source[s.vars[0].env] != "default"
		switch {
		case urlSet && schemeOf(*u) == s.scheme:
			parts := &Config{}
			if err := s.parts(*u, parts); err != nil {
				return fmt.Errorf("invalid configuration: %s = %q: %v", s.env, redactURL(*u), err)
			}
			for _, v := range seedSet {
				if !reflect.DeepEqual(v.field(c), v.field(parts)) {
					return disagree(s.env, v.env, source)
				}
			}
		case urlSet && hostSet:
			return disagree(s.env, s.vars[0].env, source)
		case urlSet:
		case hostSet:
			*u = s.compose(c)
			if _, err := checkStoreURL(*u, s.scheme); err != nil {
				names := make([]string, len(seedSet))
				for i, v := range seedSet {
					names[i] = v.env
				}
				return fmt.Errorf("invalid configuration: %s spell %s = %q: %v", strings.Join(names, ", "), s.env, redactURL(*u), err)
			}
		default:
			*u = s.embedded(c.DataDir)
		}
	}
	return nil
}

// disagree is the error of a URL and a seed variable set to different stores.
func disagree(urlEnv, seedEnv string, source map[string]string) error {
	return fmt.Errorf("invalid configuration: %s (from %s) and %s (from %s) name different stores: set only one of them",
		urlEnv, source[urlEnv], seedEnv, source[seedEnv])
}

// metadataURL is databaseURL, or when it is empty the SQLite file in dataDir.
func metadataURL(dataDir, databaseURL string) string {
	if databaseURL != "" {
		return databaseURL
	}
	return unmogrowp.FileURL("sqlite", filepath.Join(dataDir, "metadata.db"))
}

// splitHostPort splits host:port, with port 0 when it is not a number.
func splitHostPort(addr string) (string, int) {
	h, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return h, n
}

// orDefault is v, or def when v is empty.
func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// redactURL returns u with the password of its user information, and the value of a
// password query parameter (as PostgreSQL's URLs may carry), replaced by xxxxx, so that
// a URL can be logged or shown in an error. Anything else comes back as it is.
func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	rest, query, hasQuery := strings.Cut(rest, "?")
	authority, path, hasPath := strings.Cut(rest, "/")
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		if user, _, hasPass := strings.Cut(authority[:at], ":"); hasPass {
			authority = user + ":xxxxx" + authority[at:]
		}
	}
	out := scheme + "://" + authority
	if hasPath {
		out += "/" + path
	}
	if hasQuery {
		params := strings.Split(query, "&")
		for i, p := range params {
			if k, _, _ := strings.Cut(p, "="); strings.EqualFold(k, "password") {
				params[i] = k + "=xxxxx"
			}
		}
		out += "?" + strings.Join(params, "&")
	}
	return out
}
