package opendsr

import (
	"time"

	"github.com/unmogrowp/unmogrowp"
)

// APIVersion is the OpenDSR version the product implements.
const APIVersion = "1.0"

// ResultsTTL is how long an access or portability file is kept.
const ResultsTTL = 7 * 24 * time.Hour

// StatusObject is a request's status as GET .../requests/{id} answers it and a callback
// carries it (with StatusCallbackURL set).
type StatusObject struct {
	ControllerID           string    `json:"controller_id"`
	ExpectedCompletionTime time.Time `json:"expected_completion_time"`
	StatusCallbackURL      string    `json:"status_callback_url,omitempty"`
	SubjectRequestID       string    `json:"subject_request_id"`
	RequestStatus          string    `json:"request_status"`
	APIVersion             string    `json:"api_version"`
	ReceivedTime           time.Time `json:"received_time"`
	// ResultsURL and ResultsCount: an access or portability request's file, once
	// completed, until it expires (ResultsExpireTime).
	ResultsURL        string     `json:"results_url,omitempty"`
	ResultsCount      *int64     `json:"results_count,omitempty"`
	ResultsExpireTime *time.Time `json:"results_expire_time,omitempty"`
	// CompletedTime and LogPurgedBy: a completed request; LogPurgedBy (erasure) is when
	// the raw log's copies of the subject's records are gone.
	CompletedTime *time.Time `json:"completed_time,omitempty"`
	LogPurgedBy   *time.Time `json:"log_purged_by,omitempty"`
}

// Status returns r's status object; resultsURL is the file's URL, used when r has one
// that has not expired by now.
func Status(r *unmogrowp.SubjectRequest, resultsURL string, now time.Time) StatusObject {
	st := StatusObject{
		ControllerID: r.AppID, ExpectedCompletionTime: r.Expected.UTC(), SubjectRequestID: r.ID,
		RequestStatus: r.Status, APIVersion: APIVersion, ReceivedTime: r.Received.UTC(),
	}
	if r.Status == unmogrowp.RequestCompleted {
		c := r.Completed.UTC()
		st.CompletedTime = &c
		if !r.LogPurgedBy.IsZero() {
			p := r.LogPurgedBy.UTC()
			st.LogPurgedBy = &p
		}
		if !r.ResultsExpire.IsZero() && now.Before(r.ResultsExpire) {
			n, e := r.Results, r.ResultsExpire.UTC()
			st.ResultsURL, st.ResultsCount, st.ResultsExpireTime = resultsURL, &n, &e
		}
	}
	return st
}
