package inmem

import (
	"context"
	"strings"
	"sync"

	"github.com/unmogrowp/unmogrowp"
)

// Consents is an unmogrowp.ConsentStore held in the process's memory, for tests. It is
// safe for concurrent use.
type Consents struct {
	mu sync.Mutex
	m  map[[2]string]unmogrowp.Consent // by app and device id
}

var _ unmogrowp.ConsentStore = (*Consents)(nil)

// NewConsents returns an empty consent store.
func NewConsents() *Consents { return &Consents{m: map[[2]string]unmogrowp.Consent{}} }

// SetConsents implements unmogrowp.ConsentStore.
func (s *Consents) SetConsents(ctx context.Context, cs []unmogrowp.Consent) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := unmogrowp.CheckConsents(cs); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cs {
		k := [2]string{c.AppID, c.DeviceID}
		if old, ok := s.m[k]; !ok || c.Later(old) {
			c.AppID, c.DeviceID = strings.Clone(c.AppID), strings.Clone(c.DeviceID)
			s.m[[2]string{c.AppID, c.DeviceID}] = c
		}
	}
	return nil
}

// Consents implements unmogrowp.ConsentStore.
func (s *Consents) Consents(ctx context.Context, appID string, deviceIDs []string) (map[string]unmogrowp.Consent, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]unmogrowp.Consent{}
	for _, id := range deviceIDs {
		if c, ok := s.m[[2]string{appID, id}]; ok {
			out[id] = c
		}
	}
	return out, nil
}
