package api

import (
	"testing"

	"github.com/unmogrowp/unmogrowp"
)

// FuzzDecodeExportBody: any body decodes to an export or an EINVALID error; never a panic.
// What it decodes, Validate then checks without panicking either.
func FuzzDecodeExportBody(f *testing.F) {
	f.Add([]byte(`{"reports":["events"],"format":"csv.gz","cadence":"hourly","destination":{"type":"s3","endpoint":"http://h:9000","bucket":"b","access_key_id":"a","secret_access_key":"s","path_style":true}}`))
	f.Add([]byte(`{"destination":null}`))
	f.Add([]byte(`{"start":"2026-03-01T00:00:00Z","destination":{"prefix":"//"}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := decodeExportBody(body)
		if err != nil {
			if unmogrowp.ErrorCode(err) != unmogrowp.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		_ = e.Validate(e.Start)
	})
}
