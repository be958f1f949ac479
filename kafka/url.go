package kafka

import (
	"context"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/unmogrowp/unmogrowp"
)

// Defaults of a kafka:// URL.
const (
	DefaultTopic      = "unmogrowp-events"
	DefaultPartitions = 12
	defaultPort       = "9092"
)

// topicName is what Kafka accepts as a topic name.
var topicName = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

// ParseURL returns the Options of a URL of the form
// kafka://host:port[,host:port...]/topic[?partitions=N&group=G]: Brokers (port 9092 when
// left out), Topic (default DefaultTopic), Partitions (default DefaultPartitions) and
// Group (default DefaultGroup). It returns EINVALID for another scheme, credentials (SASL
// is not supported), another query parameter or a malformed URL.
func ParseURL(raw string) (Options, error) {
	invalid := unmogrowp.Errorf(unmogrowp.EINVALID, "The Kafka URL must look like kafka://broker1:9092,broker2:9092/topic?partitions=12&group=unmogrowp-consumer.")
	rest, ok := strings.CutPrefix(raw, "kafka://")
	if !ok {
		return Options{}, invalid
	}
	rest, rawQuery, _ := strings.Cut(rest, "?")
	hosts, topic, _ := strings.Cut(rest, "/")
	if hosts == "" || strings.ContainsAny(hosts, "@#") || strings.Contains(topic, "#") {
		return Options{}, invalid
	}
	o := Options{Topic: DefaultTopic, Group: DefaultGroup, Partitions: DefaultPartitions}
	for _, b := range strings.Split(hosts, ",") {
		if _, _, err := net.SplitHostPort(b); err != nil {
			b = net.JoinHostPort(b, defaultPort)
		}
		h, p, err := net.SplitHostPort(b)
		if n, perr := strconv.Atoi(p); err != nil || h == "" || perr != nil || n < 1 || n > 65535 {
			return Options{}, invalid
		}
		o.Brokers = append(o.Brokers, b)
	}
	if topic != "" {
		if !topicName.MatchString(topic) {
			return Options{}, invalid
		}
		o.Topic = topic
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return Options{}, invalid
	}
	for k, v := range q {
		if len(v) != 1 || v[0] == "" {
			return Options{}, invalid
		}
		switch k {
		case "partitions":
			n, err := strconv.Atoi(v[0])
			if err != nil || n < 1 || n > 10000 {
				return Options{}, invalid
			}
			o.Partitions = int32(n)
		case "group":
			o.Group = v[0]
		default:
			return Options{}, invalid
		}
	}
	return o, nil
}

// Topic is the log's topic on a Kafka cluster, as a kafka:// URL names it. Its Log
// produces to it and its Reader consumes from it; a process opens only the sides it
// uses (a Reader joins the consumer group).
type Topic struct {
	opts Options
}

// Open creates the topic that rawURL names (ParseURL) if it is missing, with
// Partitions partitions and the brokers' default replication, and returns it. The URL's
// brokers, topic, partitions and group replace those of opts; the other fields of opts
// apply to the Log and the Reader. It returns EINVALID for a bad URL or a topic the
// brokers refuse, EUNAVAILABLE when no broker answers (within ctx and 30 seconds).
func Open(ctx context.Context, rawURL string, opts Options) (*Topic, error) {
	u, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	opts.Brokers, opts.Topic, opts.Group, opts.Partitions = u.Brokers, u.Topic, u.Group, u.Partitions
	if err := EnsureTopic(ctx, opts.Brokers, opts.Topic, opts.Partitions, -1); err != nil {
		return nil, err
	}
	return &Topic{opts: opts}, nil
}

// Log opens a Log producing to the topic (OpenLog).
func (t *Topic) Log() (*Log, error) { return OpenLog(t.opts) }

// Reader opens a Reader of the topic in the URL's consumer group (OpenReader).
func (t *Topic) Reader() (*Reader, error) { return OpenReader(t.opts) }
