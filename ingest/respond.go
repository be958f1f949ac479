package ingest

import "net/http"

// WriteJSON answers v as JSON with the status: the one JSON writer of both listeners.
func WriteJSON(w http.ResponseWriter, status int, v any) { writeJSON(w, status, v) }

// WriteError answers {"error": "..."} with the status of err's code (StatusCode), and a
// generic message for an error without one, so internal details never reach a caller.
func WriteError(w http.ResponseWriter, err error) { writeError(w, err) }
