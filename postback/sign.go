package postback

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// Headers the sender sets on every request.
const (
	HeaderDeliveryID = "X-UnMoGrowP-Delivery-Id" // the delivery's id, the same on every retry
	HeaderTimestamp  = "X-UnMoGrowP-Timestamp"   // unix seconds of the attempt, when signed
	HeaderSignature  = "X-UnMoGrowP-Signature"   // sha256=<hex HMAC>, when signed
	userAgent        = "UnMoGrowP-Postback/1.0"  // the User-Agent of every request
	signaturePrefix  = "sha256="                 // of HeaderSignature's value
)

// Sign returns the X-UnMoGrowP-Signature value of a request: "sha256=" and the lower-case
// hex HMAC-SHA256, keyed with the secret, of the timestamp in unix seconds (the
// X-UnMoGrowP-Timestamp value), a dot, and the raw body (empty for GET).
func Sign(secret string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	var buf [len(signaturePrefix) + 2*sha256.Size]byte // the prefix and the hex digest
	mac.Write(append(strconv.AppendInt(buf[:0], timestamp, 10), '.'))
	mac.Write(body)
	var sum [sha256.Size]byte
	copy(buf[:], signaturePrefix)
	hex.Encode(buf[len(signaturePrefix):], mac.Sum(sum[:0]))
	return string(buf[:])
}

// Verify reports whether signature is Sign(secret, timestamp, body), in constant time: what
// a receiver does (it should also refuse a timestamp far from its clock, against replays).
func Verify(secret string, timestamp int64, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, timestamp, body)), []byte(signature))
}
