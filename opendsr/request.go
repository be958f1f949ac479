package opendsr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// MaxRequestBytes bounds an OpenDSR request's body.
const MaxRequestBytes = 64 << 10

// MaxIdentities and MaxCallbackURLs bound what one request names.
const (
	MaxIdentities   = 100
	MaxCallbackURLs = 10
)

// requestBody is an OpenDSR request as the controller sends it; extensions and
// api_version are accepted and not used.
type requestBody struct {
	SubjectRequestID   *string                     `json:"subject_request_id"`
	SubjectRequestType *string                     `json:"subject_request_type"`
	SubmittedTime      *string                     `json:"submitted_time"`
	SubjectIdentities  []unmogrowp.SubjectIdentity `json:"subject_identities"`
	StatusCallbackURLs []string                    `json:"status_callback_urls"`
	Regulation         *string                     `json:"regulation"`
	APIVersion         json.RawMessage             `json:"api_version"`
	Extensions         json.RawMessage             `json:"extensions"`
}

// BadRequest is a request the processor refuses: Message says why, naming the field, for
// the error object's message and its one errors entry (reason).
type BadRequest struct {
	Reason  string // the errors entry's reason: "invalid_field", "unsupported_identity", "malformed_json"
	Message string
}

func (e *BadRequest) Error() string { return e.Message }

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
var sha256Pattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// DecodeRequest reads an OpenDSR request's body into a request of appID received at
// received, or returns a *BadRequest. The subject_request_id is taken in lower case.
func DecodeRequest(body []byte, appID string, received time.Time) (*unmogrowp.SubjectRequest, error) {
	bad := func(reason, format string, args ...any) error {
		return &BadRequest{Reason: reason, Message: fmt.Sprintf(format, args...)}
	}
	var b requestBody
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&b); err != nil {
		if te, ok := err.(*json.UnmarshalTypeError); ok && te.Field != "" {
			return nil, bad("invalid_field", "%s has the wrong type.", te.Field)
		}
		return nil, bad("malformed_json", "The body is not a JSON object.")
	}
	if dec.More() {
		return nil, bad("malformed_json", "The body holds more than one JSON value.")
	}
	r := &unmogrowp.SubjectRequest{AppID: appID, Received: received.UTC(), Regulation: "gdpr"}
	switch {
	case b.SubjectRequestID == nil:
		return nil, bad("invalid_field", "subject_request_id field is required.")
	case !uuidPattern.MatchString(strings.ToLower(*b.SubjectRequestID)):
		return nil, bad("invalid_field", "subject_request_id must be a UUID.")
	}
	r.ID = strings.ToLower(*b.SubjectRequestID)
	switch {
	case b.SubjectRequestType == nil:
		return nil, bad("invalid_field", "subject_request_type field is required.")
	case *b.SubjectRequestType != unmogrowp.RequestErasure && *b.SubjectRequestType != unmogrowp.RequestAccess &&
		*b.SubjectRequestType != unmogrowp.RequestPortability:
		return nil, bad("invalid_field", "subject_request_type must be erasure, access or portability.")
	}
	r.Type = *b.SubjectRequestType
	if b.SubmittedTime == nil {
		return nil, bad("invalid_field", "submitted_time field is required.")
	}
	t, err := time.Parse(time.RFC3339Nano, *b.SubmittedTime)
	if err != nil {
		return nil, bad("invalid_field", "submitted_time must be an RFC 3339 time.")
	}
	r.Submitted = t.UTC()
	if b.Regulation != nil {
		if *b.Regulation != "gdpr" && *b.Regulation != "ccpa" {
			return nil, bad("invalid_field", "regulation must be gdpr or ccpa.")
		}
		r.Regulation = *b.Regulation
	}
	switch {
	case len(b.SubjectIdentities) == 0:
		return nil, bad("invalid_field", "subject_identities field is required.")
	case len(b.SubjectIdentities) > MaxIdentities:
		return nil, bad("invalid_field", "subject_identities holds more than %d identities.", MaxIdentities)
	}
	for i, id := range b.SubjectIdentities {
		if _, ok := id.Field(); !ok {
			return nil, bad("unsupported_identity", "subject_identities[%d]: unsupported identity %q.", i, id.Type)
		}
		switch id.Format {
		case unmogrowp.IdentityRaw:
			if unmogrowp.IsZeroID(id.Value) {
				return nil, bad("invalid_field", "subject_identities[%d].identity_value must not be empty or all zeros.", i)
			}
			if err := unmogrowp.ValidateName("identity_value", id.Value); err != nil || len(id.Value) > unmogrowp.MaxDeviceIDLen {
				return nil, bad("invalid_field", "subject_identities[%d].identity_value must be an id of at most %d characters.", i, unmogrowp.MaxDeviceIDLen)
			}
		case unmogrowp.IdentitySHA256:
			if !sha256Pattern.MatchString(strings.ToLower(id.Value)) {
				return nil, bad("invalid_field", "subject_identities[%d].identity_value must be 64 hex digits in the sha256 format.", i)
			}
			id.Value = strings.ToLower(id.Value)
		default:
			return nil, bad("invalid_field", "subject_identities[%d].identity_format must be raw or sha256.", i)
		}
		r.Identities = append(r.Identities, id)
	}
	if len(b.StatusCallbackURLs) > MaxCallbackURLs {
		return nil, bad("invalid_field", "status_callback_urls holds more than %d URLs.", MaxCallbackURLs)
	}
	for i, u := range b.StatusCallbackURLs {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || len(u) > 2048 {
			return nil, bad("invalid_field", "status_callback_urls[%d] must be an http or https URL.", i)
		}
	}
	r.CallbackURLs = b.StatusCallbackURLs
	return r, nil
}
