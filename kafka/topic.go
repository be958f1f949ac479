package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/unmogrowp/unmogrowp"
)

// ensureTimeout bounds EnsureTopic when ctx has no earlier deadline.
const ensureTimeout = 30 * time.Second

// EnsureTopic creates topic with the given partitions and replication factor (-1 for
// either takes the brokers' default), and does nothing if it exists. An existing topic
// is never repartitioned: more partitions would move apps to other partitions and break
// the order of their records. It returns EINVALID for settings the brokers refuse (such
// as a replication factor above the number of brokers) and EUNAVAILABLE when no broker
// answers within 30 seconds.
func EnsureTopic(ctx context.Context, brokers []string, topic string, partitions int32, replication int16) error {
	if len(brokers) == 0 || topic == "" {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "Kafka brokers and topic must be set to create the topic.")
	}
	if partitions == 0 || partitions < -1 || replication == 0 || replication < -1 {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "Kafka topic needs at least one partition and one replica.")
	}
	ctx, cancel := context.WithTimeout(ctx, ensureTimeout)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return unmogrowp.Errorf(unmogrowp.EINVALID, "Kafka client settings: %v", err)
	}
	defer cl.Close()
	_, err = kadm.NewClient(cl).CreateTopic(ctx, partitions, replication, nil, topic)
	switch {
	case err == nil, errors.Is(err, kerr.TopicAlreadyExists):
		return nil
	case errors.Is(err, kerr.InvalidPartitions), errors.Is(err, kerr.InvalidReplicationFactor),
		errors.Is(err, kerr.InvalidTopicException), errors.Is(err, kerr.PolicyViolation),
		errors.Is(err, kerr.InvalidConfig), errors.Is(err, kerr.InvalidRequest):
		return fmt.Errorf("%w: %w", unmogrowp.Errorf(unmogrowp.EINVALID, "Kafka refused to create topic %q.", topic), err)
	}
	return fmt.Errorf("%w: %w", unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "Kafka could not create topic %q.", topic), err)
}
