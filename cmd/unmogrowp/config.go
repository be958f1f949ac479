package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/api"
	"github.com/unmogrowp/unmogrowp/duckdb"
	"github.com/unmogrowp/unmogrowp/httpserve"
	"github.com/unmogrowp/unmogrowp/mail"
	"github.com/unmogrowp/unmogrowp/postback"
)

// Config is the configuration of `unmogrowp serve`.
type Config struct {
	IngestAddr      string
	APIAddr         string
	DataDir         string
	LogLevel        slog.Level
	LogFormat       string
	CORSOrigins     []string
	TrustedProxies  []netip.Prefix
	WALSegmentBytes int64
	WALRetention    time.Duration
	DuckDBMemory    string
	YieldLimit      time.Duration
	HoldFor         time.Duration
	ShutdownTimeout time.Duration
	APITimeout      time.Duration // bounds each API request's calls to the stores
	PublicURL       string
	ConsumerAddr    string
	PprofAddr       string

	// Postback delivery (POSTBACKS.md), in the processes of the consumer role.
	PostbackRetryDelays  []time.Duration // never nil: empty means no retry
	PostbackAllowPrivate bool
	PostbackLogRetention time.Duration // 0: the delivery log is kept

	// AdminEmails are the users who may load exchange rates (PUT /api/fx-rates).
	AdminEmails []string
	// LogRetention is how long the log keeps a processed record, for a completed
	// erasure's log_purged_by; 0: WAL_RETENTION for the embedded log, a week for Kafka.
	LogRetention time.Duration
	// Scheduled exports (docs/export.md): SecretKey seals their destinations' secrets
	// (nil: none can be created, and runs fail saying so); the scheduler runs in the
	// processes of the consumer role.
	SecretKey                                                      *unmogrowp.SecretKey
	ExportDelay, ExportLateWindow, ExportLateCheck, ExportInterval time.Duration

	// The URL of each store (storeurl.go), after loadConfig: set, spelled by the seed's
	// variables below, or by default in DataDir.
	LogURL       string // wal: or kafka://
	AnalyticsURL string // duckdb: or clickhouse://
	HotStateURL  string // memory: or redis://
	DatabaseURL  string // sqlite: or postgres://

	// DatabaseTimeout bounds each read and write of a PostgreSQL connection
	// (metadata.Options.IOTimeout).
	DatabaseTimeout time.Duration

	// The seed's variables, which spell the distributed stores' URLs in parts.
	KafkaBrokers       []string // Kafka log
	KafkaTopic         string
	KafkaPartitions    int
	KafkaGroup         string
	KafkaSession       time.Duration
	KafkaTimeout       time.Duration
	ClickHouseHost     string // ClickHouse analytics store
	ClickHousePort     int
	ClickHouseDatabase string
	ClickHouseUsername string
	ClickHousePassword string
	RedisHost          string // Redis hot state
	RedisPort          int
	RedisPassword      string
	RedisDB            int
	RedisPrefix        string

	// Sign-in with Google: on when GoogleClientID is set (api.GoogleConfig).
	GoogleClientID     string
	GoogleClientSecret string
	GoogleIssuerURL    string
	GoogleRedirectURL  string

	// Account security (docs/teams.md).
	Signup       api.SignupMode
	SMTPURL      string // "": no mail
	SMTPFrom     string
	DashboardURL string
	AuthCacheTTL time.Duration // 0: none
}

// setting is one configuration value: its environment variable, flag, default and parser.
// The same table drives the file, the environment, the flags, --help and the README.
type setting struct {
	env     string
	aliases []string // older names (the seed's) that set it too, lower precedence
	flag    string
	def     string
	help    string
	apply   func(c *Config, v string) error
}

var settings = []setting{
	{env: "INGEST_ADDR", aliases: []string{"PORT"}, flag: "ingest-addr", def: ":8080",
		help:  "address of the ingestion listener (SDKs, servers, ad networks); PORT=8080 means :8080",
		apply: func(c *Config, v string) (err error) { c.IngestAddr, err = parseAddr(v); return }},
	{env: "API_ADDR", aliases: []string{"API_PORT"}, flag: "api-addr", def: ":3001",
		help:  "address of the API listener (dashboard and JSON API); API_PORT=3001 means :3001",
		apply: func(c *Config, v string) (err error) { c.APIAddr, err = parseAddr(v); return }},
	{env: "UNMOGROWP_DATA_DIR", flag: "data-dir", def: "./data",
		help: "directory for the write-ahead log, DuckDB, SQLite and dedup state",
		apply: func(c *Config, v string) error {
			if v == "" {
				return fmt.Errorf("must not be empty")
			}
			c.DataDir = v
			return nil
		}},
	{env: "LOG_LEVEL", flag: "log-level", def: "info", help: "debug, info, warn or error (debug logs every ingestion request)",
		apply: func(c *Config, v string) error { return c.LogLevel.UnmarshalText([]byte(v)) }},
	{env: "LOG_FORMAT", flag: "log-format", def: "text", help: "text or json",
		apply: func(c *Config, v string) error {
			if v != "text" && v != "json" {
				return fmt.Errorf("must be text or json")
			}
			c.LogFormat = v
			return nil
		}},
	{env: "CORS_ORIGINS", flag: "cors-origins", def: "*", help: "comma-separated origins web SDKs may send from; * for any; empty for none",
		apply: func(c *Config, v string) error {
			c.CORSOrigins = nil
			for _, o := range strings.Split(v, ",") {
				if o = strings.TrimSpace(o); o != "" {
					c.CORSOrigins = append(c.CORSOrigins, o)
				}
			}
			return nil
		}},
	{env: "TRUSTED_PROXIES", flag: "trusted-proxies", def: "", help: "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed",
		apply: func(c *Config, v string) (err error) {
			c.TrustedProxies, err = httpserve.ParseTrustedProxies(v)
			return
		}},
	{env: "WAL_SEGMENT_BYTES", flag: "wal-segment-bytes", def: "67108864", help: "size at which the write-ahead log starts a new segment file",
		apply: func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1<<20 || n > 1<<32 {
				return fmt.Errorf("must be a byte count between 1 MiB and 4 GiB")
			}
			c.WALSegmentBytes = n
			return nil
		}},
	{env: "WAL_RETENTION", flag: "wal-retention", def: "1h", help: "how long processed log segments are kept before deletion (Go duration)",
		apply: func(c *Config, v string) (err error) { c.WALRetention, err = parseDuration(v, 0); return }},
	{env: "DUCKDB_MEMORY_LIMIT", flag: "duckdb-memory-limit", def: duckdb.DefaultMemoryLimit, help: "DuckDB's memory_limit",
		apply: func(c *Config, v string) error {
			if v == "" || strings.ContainsAny(v, "'\";") {
				return fmt.Errorf("must be a size such as 2GB")
			}
			c.DuckDBMemory = v
			return nil
		}},
	{env: "PUBLIC_URL", flag: "public-url", def: "",
		help: "public base URL of the ingestion listener, which tracking links' click and impression URLs start with (default http://<ingest address>)",
		apply: func(c *Config, v string) error {
			if v == "" {
				c.PublicURL = ""
				return nil
			}
			u, err := parseBaseURL(v)
			if err != nil {
				return err
			}
			c.PublicURL = u
			return nil
		}},
	{env: "CONSUMER_ADDR", flag: "consumer-addr", def: ":9090", help: "address of the consumer service's /health and /metrics listener",
		apply: func(c *Config, v string) (err error) { c.ConsumerAddr, err = parseAddr(v); return }},
	{env: "PPROF_ADDR", flag: "pprof-addr", def: "", help: "address of a listener serving Go's net/http/pprof profiles (keep it private); empty: none",
		apply: func(c *Config, v string) (err error) {
			if v == "" {
				c.PprofAddr = ""
				return nil
			}
			c.PprofAddr, err = parseAddr(v)
			return
		}},
	{env: "LOG_URL", flag: "log-url", def: "",
		help:  "the log: wal:///path/to/wal (embedded) or kafka://broker:9092,broker:9092/topic?partitions=12&group=unmogrowp-consumer; default: wal: in the data directory",
		apply: func(c *Config, v string) (err error) { c.LogURL, err = checkStoreURL(v, "wal", "kafka"); return }},
	{env: "ANALYTICS_URL", flag: "analytics-url", def: "",
		help: "the analytics store: duckdb:///path/to/analytics.duckdb (embedded) or clickhouse://user:pass@host:9000/database; default: duckdb: in the data directory",
		apply: func(c *Config, v string) (err error) {
			c.AnalyticsURL, err = checkStoreURL(v, "duckdb", "clickhouse")
			return
		}},
	{env: "HOTSTATE_URL", flag: "hotstate-url", def: "",
		help: "the hot state (touchpoint index, device attribution, dedup ids, rate limits): memory: (in process) or redis://:pass@host:6379/0?prefix=unmogrowp:; default: memory:",
		apply: func(c *Config, v string) (err error) {
			c.HotStateURL, err = checkStoreURL(v, "memory", "redis", "rediss")
			return
		}},
	{env: "DATABASE_URL", flag: "database-url", def: "",
		help: "the metadata store: sqlite:///path/to/metadata.db (embedded) or postgres://user:pass@host:5432/db; default: sqlite: in the data directory",
		apply: func(c *Config, v string) (err error) {
			c.DatabaseURL, err = checkStoreURL(v, "sqlite", "postgres", "postgresql")
			return
		}},
	{env: "DATABASE_TIMEOUT", flag: "database-timeout", def: "10s", help: "how long a PostgreSQL call waits on a silent server (each read and write of its connection) before it fails as unavailable and the connection is closed; raise it for a migration or statement that runs longer",
		apply: func(c *Config, v string) (err error) { c.DatabaseTimeout, err = parseDuration(v, time.Second); return }},
	{env: "KAFKA_BROKERS", flag: "kafka-brokers", def: "", help: "comma-separated host:port of Kafka brokers for the log (with the KAFKA_ settings, another spelling of LOG_URL=kafka://…)",
		apply: func(c *Config, v string) error {
			c.KafkaBrokers = nil
			for _, b := range strings.Split(v, ",") {
				if b = strings.TrimSpace(b); b == "" {
					continue
				}
				if _, _, err := net.SplitHostPort(b); err != nil {
					return fmt.Errorf("%q is not host:port", b)
				}
				c.KafkaBrokers = append(c.KafkaBrokers, b)
			}
			return nil
		}},
	{env: "KAFKA_TOPIC", flag: "kafka-topic", def: "unmogrowp-events", help: "Kafka topic of the log, created at start if missing",
		apply: func(c *Config, v string) error { c.KafkaTopic = v; return nonEmpty(v) }},
	{env: "KAFKA_PARTITIONS", flag: "kafka-partitions", def: "12", help: "partitions of the Kafka topic when it is created (never changed after: an app keeps its partition)",
		apply: func(c *Config, v string) (err error) { c.KafkaPartitions, err = parseInt(v, 1, 10000); return }},
	{env: "KAFKA_GROUP", flag: "kafka-group", def: "unmogrowp-consumer", help: "Kafka consumer group shared by every consumer of one deployment",
		apply: func(c *Config, v string) error { c.KafkaGroup = v; return nonEmpty(v) }},
	{env: "KAFKA_SESSION_TIMEOUT", flag: "kafka-session-timeout", def: "45s", help: "how long a consumer may go silent before the group gives its partitions to the others",
		apply: func(c *Config, v string) (err error) { c.KafkaSession, err = parseDuration(v, time.Second); return }},
	{env: "KAFKA_TIMEOUT", flag: "kafka-timeout", def: "10s", help: "how long an append waits for Kafka's acknowledgement before ingestion answers 503 (and a commit for its answer): keep it under the clients' request timeout",
		apply: func(c *Config, v string) (err error) { c.KafkaTimeout, err = parseDuration(v, time.Second); return }},
	{env: "CLICKHOUSE_HOST", flag: "clickhouse-host", def: "", help: "ClickHouse host of the analytics store (with the CLICKHOUSE_ settings, another spelling of ANALYTICS_URL=clickhouse://…)",
		apply: func(c *Config, v string) error { c.ClickHouseHost = v; return nil }},
	{env: "CLICKHOUSE_PORT", flag: "clickhouse-port", def: "9000", help: "ClickHouse native protocol port",
		apply: func(c *Config, v string) (err error) { c.ClickHousePort, err = parseInt(v, 1, 65535); return }},
	{env: "CLICKHOUSE_DATABASE", flag: "clickhouse-database", def: "unmogrowp", help: "ClickHouse database, created at start if missing",
		apply: func(c *Config, v string) error { c.ClickHouseDatabase = v; return nonEmpty(v) }},
	{env: "CLICKHOUSE_USERNAME", flag: "clickhouse-username", def: "default", help: "ClickHouse user",
		apply: func(c *Config, v string) error { c.ClickHouseUsername = v; return nil }},
	{env: "CLICKHOUSE_PASSWORD", flag: "clickhouse-password", def: "", help: "ClickHouse password",
		apply: func(c *Config, v string) error { c.ClickHousePassword = v; return nil }},
	{env: "REDIS_HOST", flag: "redis-host", def: "", help: "Redis host of the hot state (with the REDIS_ settings, another spelling of HOTSTATE_URL=redis://…)",
		apply: func(c *Config, v string) error { c.RedisHost = v; return nil }},
	{env: "REDIS_PORT", flag: "redis-port", def: "6379", help: "Redis port",
		apply: func(c *Config, v string) (err error) { c.RedisPort, err = parseInt(v, 1, 65535); return }},
	{env: "REDIS_PASSWORD", flag: "redis-password", def: "", help: "Redis password",
		apply: func(c *Config, v string) error { c.RedisPassword = v; return nil }},
	{env: "REDIS_PREFIX", flag: "redis-prefix", def: "unmogrowp:", help: "prefix of every Redis key, so that deployments can share a server",
		apply: func(c *Config, v string) error { c.RedisPrefix = v; return nonEmpty(v) }},
	{env: "REDIS_DB", flag: "redis-db", def: "0", help: "Redis database number",
		apply: func(c *Config, v string) (err error) { c.RedisDB, err = parseInt(v, 0, 1<<16); return }},
	{env: "PIPELINE_YIELD_LIMIT", flag: "pipeline-yield-limit", def: "10s",
		help:  "when ingestion and the pipeline share a process and ingestion takes events in faster than the pipeline processes them, the pipeline waits for it while less than this far behind (Go duration; 0: never)",
		apply: func(c *Config, v string) (err error) { c.YieldLimit, err = parseDuration(v, 0); return }},
	{env: "PIPELINE_HOLD_FOR", flag: "pipeline-hold-for", def: "1s",
		help:  "in `unmogrowp serve`, while the pipeline drains a backlog, how long one analytics transaction may stay open across its batches, which it commits when it holds a DuckDB row group (Go duration, at least 1ms): the most a drained event waits beyond its batch to be visible",
		apply: func(c *Config, v string) (err error) { c.HoldFor, err = parseDuration(v, time.Millisecond); return }},
	{env: "POSTBACK_RETRY_DELAYS", flag: "postback-retry-delays", def: "1m,5m,30m,2h,6h,24h",
		help: "waits before each retry of a postback that got no answer, a timeout, 408, 429 or 5xx (comma-separated Go durations; one attempt more than there are delays; empty: no retry)",
		apply: func(c *Config, v string) error {
			ds, err := postback.ParseRetryDelays(v)
			if err != nil {
				return fmt.Errorf("%s", strings.TrimPrefix(unmogrowp.ErrorMessage(err), "POSTBACK_RETRY_DELAYS: "))
			}
			c.PostbackRetryDelays = append([]time.Duration{}, ds...) // non-nil: the worker's nil is its default
			return nil
		}},
	{env: "POSTBACK_ALLOW_PRIVATE", flag: "postback-allow-private", def: "false",
		help: "let postbacks and webhooks reach loopback, private, link-local and unspecified addresses (tests, closed networks; keep false where tenants are not trusted); false refuses them at dial time",
		apply: func(c *Config, v string) (err error) {
			if c.PostbackAllowPrivate, err = strconv.ParseBool(v); err != nil {
				return fmt.Errorf("must be true or false")
			}
			return nil
		}},
	{env: "POSTBACK_LOG_RETENTION", flag: "postback-log-retention", def: "720h",
		help:  "how long delivered and failed postbacks stay in the delivery log (the outbox) before deletion, from their creation; pending ones stay whatever their age (Go duration; 0: kept)",
		apply: func(c *Config, v string) (err error) { c.PostbackLogRetention, err = parseDuration(v, 0); return }},
	{env: "SECRETS_KEY", flag: "secrets-key", def: "",
		help: "32 random bytes in base64 or hex (openssl rand -base64 32) that encrypt the secrets the metadata store keeps, such as scheduled exports' destination keys; empty: scheduled exports cannot be created",
		apply: func(c *Config, v string) (err error) {
			c.SecretKey = nil
			if v != "" {
				c.SecretKey, err = unmogrowp.ParseSecretKey(v)
			}
			return err
		}},
	{env: "EXPORT_DELAY", flag: "export-delay", def: "15m", help: "how long after its end a scheduled export's period is written (Go duration)",
		apply: func(c *Config, v string) (err error) { c.ExportDelay, err = parseDuration(v, 0); return }},
	{env: "EXPORT_LATE_WINDOW", flag: "export-late-window", def: "6h",
		help:  "how long after a scheduled export's period was due its rows are compared with what was written, and the period rewritten when they changed (Go duration)",
		apply: func(c *Config, v string) (err error) { c.ExportLateWindow, err = parseDuration(v, time.Second); return }},
	{env: "EXPORT_LATE_CHECK", flag: "export-late-check", def: "15m",
		help: "how often a scheduled export's period within the late window is read again and compared with what was written (Go duration)",
		apply: func(c *Config, v string) (err error) {
			c.ExportLateCheck, err = parseDuration(v, 100*time.Millisecond)
			return
		}},
	{env: "EXPORT_INTERVAL", flag: "export-interval", def: "1m",
		help: "how often the scheduled exports' scheduler looks for work, and the first wait before a failed period is tried again (Go duration)",
		apply: func(c *Config, v string) (err error) {
			c.ExportInterval, err = parseDuration(v, 100*time.Millisecond)
			return
		}},
	{env: "ADMIN_EMAILS", flag: "admin-emails", def: "",
		help: "comma-separated emails of the users who administer the server: only they may load exchange rates through the API (PUT /api/fx-rates); empty: nobody (the CLI's fx import still can)",
		apply: func(c *Config, v string) error {
			c.AdminEmails = nil
			for _, e := range strings.Split(v, ",") {
				if e = strings.TrimSpace(e); e != "" {
					if !strings.Contains(e, "@") {
						return fmt.Errorf("%q is not an email address", e)
					}
					c.AdminEmails = append(c.AdminEmails, e)
				}
			}
			return nil
		},
	},
	{env: "LOG_RETENTION", flag: "log-retention", def: "",
		help: "how long the log keeps a processed record, which a completed OpenDSR erasure's log_purged_by adds to its completion: the Kafka topic's retention.ms (Go duration; empty: WAL_RETENTION for the embedded log, 168h for Kafka, its default)",
		apply: func(c *Config, v string) (err error) {
			if v != "" {
				c.LogRetention, err = parseDuration(v, 0)
			}
			return
		}},
	{env: "API_TIMEOUT", flag: "api-timeout", def: "25s", help: "how long an API request may wait on the stores before it is answered 503 with Retry-After (keep it under the listener's 30 s write timeout)",
		apply: func(c *Config, v string) (err error) { c.APITimeout, err = parseDuration(v, time.Second); return }},
	{env: "SHUTDOWN_TIMEOUT", flag: "shutdown-timeout", def: "30s", help: "how long a graceful shutdown waits for requests in flight",
		apply: func(c *Config, v string) (err error) { c.ShutdownTimeout, err = parseDuration(v, time.Second); return }},
	{env: "GOOGLE_CLIENT_ID", flag: "google-client-id", def: "",
		help:  "OAuth client id of sign-in with Google on the API listener; empty: off",
		apply: func(c *Config, v string) error { c.GoogleClientID = strings.TrimSpace(v); return nil }},
	{env: "GOOGLE_CLIENT_SECRET", flag: "google-client-secret", def: "",
		help:  "OAuth client secret, for the dashboard's sign-in with Google (the code flow)",
		apply: func(c *Config, v string) error { c.GoogleClientSecret = strings.TrimSpace(v); return nil }},
	{env: "GOOGLE_ISSUER_URL", flag: "google-issuer-url", def: "https://accounts.google.com",
		help:  "OpenID Connect issuer that signs the ID tokens: https, or http on a loopback host",
		apply: func(c *Config, v string) (err error) { c.GoogleIssuerURL, err = parseIssuerURL(v); return }},
	{env: "GOOGLE_REDIRECT_URL", flag: "google-redirect-url", def: "",
		help: "the API listener's /api/auth/google/callback as browsers reach it, registered with Google, for the code flow",
		apply: func(c *Config, v string) error {
			if v == "" {
				c.GoogleRedirectURL = ""
				return nil
			}
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
				return fmt.Errorf("must be an http or https URL such as https://dash.example.com/api/auth/google/callback")
			}
			c.GoogleRedirectURL = v
			return nil
		}},
	{env: "SIGNUP", flag: "signup", def: "open",
		help:  "who may sign up: open (anyone), invite (only with an invitation link) or closed (nobody; accounts from the operator)",
		apply: func(c *Config, v string) (err error) { c.Signup, err = api.ParseSignupMode(v); return }},
	{env: "SMTP_URL", flag: "smtp-url", def: "",
		help: "mail server for invitations and password resets: smtp://user:pass@host:587 (STARTTLS required), smtps://user:pass@host:465, or smtp://host:25?starttls=off; empty: no mail",
		apply: func(c *Config, v string) error {
			if v != "" {
				if _, err := mail.New(mail.Options{URL: v, From: "check@example.com"}); err != nil {
					return err
				}
			}
			c.SMTPURL = v
			return nil
		}},
	{env: "SMTP_FROM", flag: "smtp-from", def: "",
		help:  "the From of mailed invitations and password resets, such as \"UnMoGrowP <noreply@example.com>\"; required with SMTP_URL",
		apply: func(c *Config, v string) error { c.SMTPFrom = strings.TrimSpace(v); return nil }},
	{env: "DASHBOARD_URL", flag: "dashboard-url", def: "",
		help: "public base URL of the dashboard (the API listener as browsers reach it), which mailed and printed links start with; required with SMTP_URL",
		apply: func(c *Config, v string) error {
			if v == "" {
				c.DashboardURL = ""
				return nil
			}
			u, err := parseBaseURL(v)
			if err != nil {
				return err
			}
			c.DashboardURL = u
			return nil
		}},
	{env: "AUTH_CACHE_TTL", flag: "auth-cache-ttl", def: "5s",
		help:  "how long the API believes a session, token, role or server key it read: the bound on how late a revocation made by another API process takes effect; 0: no cache",
		apply: func(c *Config, v string) (err error) { c.AuthCacheTTL, err = parseDuration(v, 0); return }},
}

// parseIssuerURL checks an OpenID Connect issuer URL: https, or http only on a loopback
// host (a provider on this machine, for development).
func parseIssuerURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("must be an https URL such as https://accounts.google.com")
	}
	switch u.Scheme {
	case "https":
		return s, nil
	case "http":
		if host := u.Hostname(); host == "localhost" || net.ParseIP(host).IsLoopback() {
			return s, nil
		}
	}
	return "", fmt.Errorf("must be an https URL (http only on a loopback host) such as https://accounts.google.com")
}

// parseBaseURL checks a public base URL (http or https, a host, no query or fragment) and
// returns it without a trailing slash.
func parseBaseURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("must be an http or https URL such as https://t.example.com")
	}
	return strings.TrimRight(s, "/"), nil
}

// loadConfig builds the configuration from the defaults, then the file named by --config
// or UNMOGROWP_CONFIG (lines of KEY=value, the environment variables' names), then the
// environment, then the flags in args. An invalid value is an error naming the setting.
func loadConfig(name string, args []string, getenv func(string) string, stderr io.Writer) (*Config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", getenv("UNMOGROWP_CONFIG"), "optional file of KEY=value lines (names as the environment variables)")
	flagVals := map[string]*string{}
	for _, s := range settings {
		flagVals[s.flag] = fs.String(s.flag, s.def, fmt.Sprintf("%s (env %s)", s.help, s.env))
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: unmogrowp %s [flags]\n\nEvery flag can also be set by its environment variable or in the --config file.\n\n", name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	values := map[string]string{}
	source := map[string]string{}
	for _, s := range settings {
		values[s.env], source[s.env] = s.def, "default"
	}
	if *configFile != "" {
		fileVals, err := readConfigFile(*configFile)
		if err != nil {
			return nil, err
		}
		for _, s := range settings {
			if v, ok := lookupAliased(s, func(k string) (string, bool) { v, ok := fileVals[k]; return v, ok }); ok {
				values[s.env], source[s.env] = v, *configFile
			}
		}
	}
	for _, s := range settings {
		if v, ok := lookupAliased(s, func(k string) (string, bool) { v := getenv(k); return v, v != "" }); ok {
			values[s.env], source[s.env] = v, "environment"
		}
	}
	fs.Visit(func(f *flag.Flag) {
		for _, s := range settings {
			if s.flag == f.Name {
				values[s.env], source[s.env] = *flagVals[f.Name], "flag"
			}
		}
	})
	c := &Config{}
	for _, s := range settings {
		if err := s.apply(c, values[s.env]); err != nil {
			return nil, fmt.Errorf("invalid configuration: %s (--%s, from %s) = %q: %v", s.env, s.flag, source[s.env], redactURL(values[s.env]), err)
		}
	}
	if err := resolveStoreURLs(c, source); err != nil {
		return nil, err
	}
	if c.SMTPURL != "" && (c.SMTPFrom == "" || c.DashboardURL == "") {
		return nil, fmt.Errorf("invalid configuration: SMTP_URL needs SMTP_FROM (the sender) and DASHBOARD_URL (what mailed links start with)")
	}
	if c.SMTPURL != "" {
		if _, err := mail.New(mail.Options{URL: c.SMTPURL, From: c.SMTPFrom}); err != nil {
			return nil, fmt.Errorf("invalid configuration: SMTP_FROM (--smtp-from) = %q: %v", c.SMTPFrom, err)
		}
	}
	return c, nil
}

// lookupAliased finds a setting by its name, then by its older aliases.
func lookupAliased(s setting, get func(string) (string, bool)) (string, bool) {
	if v, ok := get(s.env); ok {
		return v, true
	}
	for _, a := range s.aliases {
		if v, ok := get(a); ok {
			return v, true
		}
	}
	return "", false
}

func readConfigFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("invalid configuration: --config %s: %w", path, err)
	}
	defer f.Close()
	vals := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok {
			return nil, fmt.Errorf("invalid configuration: %s:%d: want KEY=value", filepath.Base(path), n)
		}
		vals[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"'`)
	}
	return vals, sc.Err()
}

// parseAddr accepts host:port, :port, or a bare port number.
func parseAddr(v string) (string, error) {
	if _, err := strconv.Atoi(v); err == nil {
		v = ":" + v
	}
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return "", fmt.Errorf("must be host:port, :port or a port number")
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return "", fmt.Errorf("port must be a number from 0 to 65535")
	}
	return v, nil
}

// parseInt accepts a whole number from min to max.
func parseInt(v string, min, max int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		return 0, fmt.Errorf("must be a whole number from %d to %d", min, max)
	}
	return n, nil
}

// nonEmpty refuses an empty value.
func nonEmpty(v string) error {
	if v == "" {
		return fmt.Errorf("must not be empty")
	}
	return nil
}

func parseDuration(v string, min time.Duration) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < min {
		return 0, fmt.Errorf("must be a duration such as 30s or 1h, at least %s", min)
	}
	return d, nil
}

// newLogger returns the process's logger as configured, writing to w.
func newLogger(c *Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
