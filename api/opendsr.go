package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/httpserve"
	"github.com/unmogrowp/unmogrowp/opendsr"
)

// OpenDSRConfig serves the OpenDSR routes (docs/privacy.md).
type OpenDSRConfig struct {
	Requests unmogrowp.SubjectRequestStore
	Signer   *opendsr.Signer
	// Wake, when not nil, is called once a request is stored: the runner of this process.
	Wake func()
	// Domain is the processor's domain for X-OpenDSR-Processor-Domain.
	Domain string
	// Expected is how long after its receipt a request is expected complete; 0: a minute.
	Expected time.Duration
	// Now returns the current time; nil: time.Now.
	Now func() time.Time
}

// CertificatePath is where the processor's certificate is served, without authentication:
// the discovery's processor_certificate.
const CertificatePath = "/api/opendsr/certificate.pem"

func (s *Server) openDSR() (*OpenDSRConfig, error) {
	if s.cfg.OpenDSR == nil || s.cfg.OpenDSR.Requests == nil || s.cfg.OpenDSR.Signer == nil {
		return nil, unmogrowp.Errorf(unmogrowp.EUNAVAILABLE, "OpenDSR requests are not available on this server.")
	}
	return s.cfg.OpenDSR, nil
}

func (c *OpenDSRConfig) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// baseURL is the scheme and host the request came to, for absolute URLs in answers.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// signedJSON answers v as JSON signed with the processor's key (X-OpenDSR-Signature over
// the exact body).
func signedJSON(w http.ResponseWriter, c *OpenDSRConfig, status int, body []byte) {
	sig := c.Signer.Sign(body)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set(opendsr.HeaderSignature, sig)
	h.Set(opendsr.HeaderGDPRSignature, sig)
	if c.Domain != "" {
		h.Set(opendsr.HeaderProcessorDomain, c.Domain)
		h.Set(opendsr.HeaderGDPRProcessorDom, c.Domain)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func (s *Server) handleCertificate(w http.ResponseWriter, r *http.Request) error {
	c, err := s.openDSR()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Write(c.Signer.Certificate())
	return nil
}

func (s *Server) handleOpenDSRDiscovery(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	if _, err := s.openDSR(); err != nil {
		return err
	}
	type identity struct {
		Type   string `json:"identity_type"`
		Format string `json:"identity_format"`
	}
	ids := []identity{}
	for _, t := range unmogrowp.IdentityTypes() {
		ids = append(ids, identity{t, unmogrowp.IdentityRaw}, identity{t, unmogrowp.IdentitySHA256})
	}
	httpserve.JSON(w, http.StatusOK, map[string]any{
		"api_version":          opendsr.APIVersion,
		"supported_identities": ids,
		"supported_subject_request_types": []string{
			unmogrowp.RequestErasure, unmogrowp.RequestAccess, unmogrowp.RequestPortability,
		},
		"processor_certificate": baseURL(r) + CertificatePath,
	})
	return nil
}

// openDSRError answers a request the processor refuses with the spec's error object.
func openDSRError(w http.ResponseWriter, status int, reason, message string) {
	httpserve.JSON(w, status, map[string]any{"error": map[string]any{
		"code": status, "message": message,
		"errors": []map[string]string{{"domain": "Validation", "reason": reason, "message": message}},
	}})
}

func (s *Server) handleCreateOpenDSRRequest(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	c, err := s.openDSR()
	if err != nil {
		return err
	}
	body, err := readBody(r, opendsr.MaxRequestBytes)
	if unmogrowp.ErrorCode(err) == unmogrowp.ETOOLARGE {
		openDSRError(w, http.StatusRequestEntityTooLarge, "too_large", unmogrowp.ErrorMessage(err))
		return nil
	}
	if err != nil {
		return err
	}
	now := c.now().UTC()
	req, err := opendsr.DecodeRequest(body, app.ID, now)
	var br *opendsr.BadRequest
	if errors.As(err, &br) {
		openDSRError(w, http.StatusBadRequest, br.Reason, br.Message)
		return nil
	}
	if err != nil {
		return err
	}
	expected := c.Expected
	if expected <= 0 {
		expected = time.Minute
	}
	req.Expected = now.Add(expected)
	answer, err := json.Marshal(map[string]any{
		"controller_id": app.ID, "received_time": req.Received, "expected_completion_time": req.Expected,
		"subject_request_id": req.ID, "encoded_request": base64.StdEncoding.EncodeToString(body),
		"api_version": opendsr.APIVersion,
	})
	if err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	req.Response = answer
	stored, created, err := c.Requests.CreateSubjectRequest(r.Context(), req)
	if err != nil {
		return fmt.Errorf("store subject request: %w", err)
	}
	if created && c.Wake != nil {
		c.Wake()
	}
	signedJSON(w, c, http.StatusCreated, stored.Response)
	return nil
}

func (s *Server) handleOpenDSRStatus(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	c, err := s.openDSR()
	if err != nil {
		return err
	}
	req, err := c.Requests.SubjectRequest(r.Context(), app.ID, r.PathValue("subject_request_id"))
	if err != nil {
		return err
	}
	st := opendsr.Status(req, baseURL(r)+"/api/apps/"+app.ID+"/opendsr/requests/"+req.ID+"/results", c.now())
	body, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode status: %w", err)
	}
	signedJSON(w, c, http.StatusOK, body)
	return nil
}

func (s *Server) handleCancelOpenDSRRequest(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	c, err := s.openDSR()
	if err != nil {
		return err
	}
	req, err := c.Requests.CancelSubjectRequest(r.Context(), app.ID, r.PathValue("subject_request_id"))
	if err != nil {
		return err
	}
	body, err := json.Marshal(map[string]any{
		"controller_id": app.ID, "subject_request_id": req.ID, "received_time": c.now().UTC(),
		"api_version": opendsr.APIVersion,
	})
	if err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	signedJSON(w, c, http.StatusAccepted, body)
	return nil
}

func (s *Server) handleOpenDSRResults(w http.ResponseWriter, r *http.Request, app *unmogrowp.App) error {
	c, err := s.openDSR()
	if err != nil {
		return err
	}
	id := r.PathValue("subject_request_id")
	if _, err := c.Requests.SubjectRequest(r.Context(), app.ID, id); err != nil {
		return err
	}
	data, err := c.Requests.SubjectRequestFile(r.Context(), app.ID, id, c.now())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Content-Disposition", `attachment; filename="opendsr-`+id+`.ndjson"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	io.Copy(w, bytes.NewReader(data))
	return nil
}
