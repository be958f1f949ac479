package api

import (
	_ "embed"
	"net/http"
	"strconv"
)

// OpenAPI is the OpenAPI 3.1 document of both listeners, the API's and the ingestion
// one's, served at GET /api/openapi.json. Its test keeps its paths and methods equal to
// the listeners' routes.
//
//go:embed openapi.json
var OpenAPI []byte

// handleOpenAPI answers the OpenAPI document; it needs no authentication.
func handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(OpenAPI)))
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	w.Write(OpenAPI)
}
