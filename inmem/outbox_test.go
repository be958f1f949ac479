package inmem_test

import (
	"testing"

	"github.com/unmogrowp/unmogrowp"
	"github.com/unmogrowp/unmogrowp/inmem"
	"github.com/unmogrowp/unmogrowp/internal/postbacktest"
)

func TestOutbox(t *testing.T) {
	postbacktest.Run(t, func(*testing.T) unmogrowp.Outbox { return inmem.NewOutbox() })
}

func TestConsents(t *testing.T) {
	postbacktest.RunConsentStore(t, func(*testing.T) unmogrowp.ConsentStore { return inmem.NewConsents() })
}
