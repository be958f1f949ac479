package s3export

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/unmogrowp/unmogrowp"
)

// Bucket is where a scheduled export's objects go.
type Bucket interface {
	// Put writes the object key (size bytes of r) whole, replacing one of that key: a reader
	// sees the old object or the new one, never a part of either. It returns the store's
	// error, which says why (access denied, no such bucket...).
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
}

// Opener opens the bucket of a destination whose secret is in the clear.
type Opener func(d unmogrowp.S3Destination) (Bucket, error)

// OpenS3 opens d's bucket with minio-go, which speaks to any S3-compatible store (AWS S3,
// MinIO, SeaweedFS, Garage, R2, versitygw), signing with Signature V4.
func OpenS3(d unmogrowp.S3Destination) (Bucket, error) {
	endpoint := d.Endpoint
	if !strings.Contains(endpoint, "://") {
		endpoint = "https://" + endpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("destination endpoint: %w", err)
	}
	lookup := minio.BucketLookupDNS
	if d.PathStyle {
		lookup = minio.BucketLookupPath
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(d.AccessKeyID, d.SecretAccessKey, ""),
		Secure:       u.Scheme == "https",
		Region:       d.Region,
		BucketLookup: lookup,
		// A few quick retries of a request; the scheduler retries the run itself with
		// backoff, and reports each failure.
		MaxRetries: 3,
	})
	if err != nil {
		return nil, fmt.Errorf("destination: %w", err)
	}
	return &s3Bucket{c: c, bucket: d.Bucket}, nil
}

type s3Bucket struct {
	c      *minio.Client
	bucket string
}

var _ Bucket = (*s3Bucket)(nil)

func (b *s3Bucket) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	_, err := b.c.PutObject(ctx, b.bucket, key, r, size, minio.PutObjectOptions{ContentType: contentType})
	if err != nil {
		return fmt.Errorf("%w (writing s3://%s/%s)", err, b.bucket, key)
	}
	return nil
}
