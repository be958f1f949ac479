package clickhouse

import (
	"testing"

	"github.com/unmogrowp/unmogrowp/internal/testenv"
)

// TestMain runs the tests and reports, at their end, those skipped for want of a server.
func TestMain(m *testing.M) { testenv.Main(m) }
