package duckdb

import (
	"context"
	"errors"
	"fmt"
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
	res, err := queryPatiently(context.Background(), conn, query, nil)
	if err != nil {
		return err
	}
	mapping.DestroyResult(&res)
	return nil
}

// queryPatiently runs query with args (strings, bound as VARCHAR, and times, bound as
// TIMESTAMP with microseconds) on conn as execPatiently runs a statement, and returns its
// result, materialized, which the caller must destroy (mapping.DestroyResult). When ctx
// is done it interrupts the query and returns an error that wraps ctx.Err().
func queryPatiently(ctx context.Context, conn mapping.Connection, query string, args []any) (mapping.Result, error) {
	var res mapping.Result
	var ps mapping.PreparedStatement
	if mapping.Prepare(conn, query, &ps) == mapping.StateError {
		err := errors.New(mapping.PrepareError(ps))
		mapping.DestroyPrepare(&ps)
		return res, err
	}
	defer mapping.DestroyPrepare(&ps)
	for i, a := range args {
		n := mapping.IdxT(i + 1)
		var state mapping.State
		switch v := a.(type) {
		case string:
			state = mapping.BindVarchar(ps, n, v)
		case time.Time:
			state = mapping.BindTimestamp(ps, n, mapping.NewTimestamp(v.UnixMicro()))
		default:
			return res, fmt.Errorf("argument $%d is a %T: only strings and times are bound", n, a)
		}
		if state == mapping.StateError {
			return res, fmt.Errorf("bind $%d: %s", n, mapping.PrepareError(ps))
		}
	}
	var pr mapping.PendingResult
	if mapping.PendingPrepared(ps, &pr) == mapping.StateError {
		err := errors.New(mapping.PendingError(pr))
		mapping.DestroyPending(&pr)
		return res, err
	}
	defer mapping.DestroyPending(&pr)
	nap := napMin
	interrupted := false
	for {
		if !interrupted && ctx.Err() != nil {
			mapping.Interrupt(conn) // the query ends with an error at its next task
			interrupted = true
		}
		switch mapping.PendingExecuteTask(pr) {
		case mapping.PendingStateResultReady:
			if mapping.ExecutePending(pr, &res) == mapping.StateError {
				err := errors.New(mapping.ResultError(&res))
				mapping.DestroyResult(&res)
				return res, withCtx(ctx, err)
			}
			return res, nil
		case mapping.PendingStateError:
			return res, withCtx(ctx, errors.New(mapping.PendingError(pr)))
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
