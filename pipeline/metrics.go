package pipeline

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the pipeline's Prometheus metrics.
type metrics struct {
	stored        prometheus.Counter
	touchpoints   prometheus.Counter
	duplicates    prometheus.Counter
	corrupt       prometheus.Counter
	alreadyStored prometheus.Counter
	retries       *prometheus.CounterVec
	batchSeconds  prometheus.Histogram
	yielded       prometheus.Counter
}

func newMetrics(p *Pipeline) (*metrics, []prometheus.Collector) {
	skipped := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "unmogrowp_pipeline_records_skipped_total",
		Help: "Log records not stored, by reason: corrupt (does not decode) or already_stored (at or below the store's watermark, replayed after a restart).",
	}, []string{"reason"})
	m := &metrics{
		stored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "unmogrowp_pipeline_events_stored_total",
			Help: "Events written to the analytics store.",
		}),
		touchpoints: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "unmogrowp_pipeline_touchpoints_stored_total",
			Help: "Touchpoints (clicks and impressions) written to the analytics store.",
		}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "unmogrowp_pipeline_duplicates_total",
			Help: "Events dropped because their event id was already stored within the dedup window.",
		}),
		corrupt:       skipped.WithLabelValues("corrupt"),
		alreadyStored: skipped.WithLabelValues("already_stored"),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "unmogrowp_pipeline_retries_total",
			Help: "Failed attempts of a pipeline step that were retried, by step.",
		}, []string{"step"}),
		yielded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "unmogrowp_pipeline_yield_seconds_total",
			Help: "Time the pipeline waited for ingestion, which took records in faster than it processes them (Options.YieldLimit).",
		}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "unmogrowp_pipeline_batch_seconds",
			Help:    "Time to process one batch of log records, from read to commit.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
	}
	lagRecords := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "unmogrowp_pipeline_lag_records",
		Help: "Log records appended but not yet committed by the pipeline.",
	}, func() float64 { n, _ := p.Lag(); return float64(n) })
	unseenRecords := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "unmogrowp_pipeline_unseen_records",
		Help: "Log records appended but not yet visible in the analytics store (lag_records less the records visible in its in-memory stage, durable at its next commit).",
	}, func() float64 { return float64(p.Unseen()) })
	lagSeconds := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "unmogrowp_pipeline_lag_seconds",
		Help: "Age of the oldest log record not yet committed by the pipeline (0 when none).",
	}, func() float64 { _, d := p.Lag(); return d.Seconds() })
	return m, []prometheus.Collector{m.stored, m.touchpoints, m.duplicates, skipped, m.retries, m.batchSeconds, m.yielded, lagRecords, unseenRecords, lagSeconds}
}
