//go:build !unix

package clickhouse

import "time"

func processCPU() time.Duration { return 0 }
func serverPID() int            { return 0 }
func pidCPU(int) time.Duration  { return 0 }
