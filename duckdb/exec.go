package duckdb

import (
	"errors"
	"time"

	"github.com/duckdb/duckdb-go/v2/mapping"
)

// execPatiently runs query on conn to the end, executing its tasks on this thread and
// sleeping while DuckDB's worker threads hold them all. duckdb-go runs every statement
// through duckdb_execute_pending, whose loop busy-spins while no task is left for the
// calling thread (PendingQueryResult::ExecuteInternal; duckdb/duckdb#22178): a COMMIT
// that moves a batch into the table, or checkpoints, spent half its CPU there, a core
// taken from ingestion (BenchmarkAppendBulk; docs/performance-analysis.md). Here the
// calling thread naps instead, 20 µs at first, doubling up to 1 ms. The query takes no
// parameters and its result is discarded.
func execPatiently(conn mapping.Connection, query string) error {
	var ps mapping.PreparedStatement
	if mapping.Prepare(conn, query, &ps) == mapping.StateError {
		err := errors.New(mapping.PrepareError(ps))
		mapping.DestroyPrepare(&ps)
		return err
	}
	defer mapping.DestroyPrepare(&ps)
	var pr mapping.PendingResult
	if mapping.PendingPrepared(ps, &pr) == mapping.StateError {
		err := errors.New(mapping.PendingError(pr))
		mapping.DestroyPending(&pr)
		return err
	}
	defer mapping.DestroyPending(&pr)
	nap := napMin
	for {
		switch mapping.PendingExecuteTask(pr) {
		case mapping.PendingStateResultReady:
			var res mapping.Result
			state := mapping.ExecutePending(pr, &res)
			var err error
			if state == mapping.StateError {
				err = errors.New(mapping.ResultError(&res))
			}
			mapping.DestroyResult(&res)
			return err
		case mapping.PendingStateError:
			return errors.New(mapping.PendingError(pr))
		case mapping.PendingStateNoTasksAvailable:
			time.Sleep(nap)
			nap = min(2*nap, napMax)
		default: // this thread ran a task: there may be more
			nap = napMin
		}
	}
}

// The bounds of execPatiently's naps.
const (
	napMin = 20 * time.Microsecond
	napMax = time.Millisecond
)
