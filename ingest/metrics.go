package ingest

import "github.com/prometheus/client_golang/prometheus"

// metrics are the ingestion listener's own Prometheus metrics.
type metrics struct {
	accepted     prometheus.Counter // events
	touchpoints  prometheus.Counter // touchpoints accepted
	rejectedVec  *prometheus.CounterVec
	rejectedByID map[string]prometheus.Counter
	logAppend    prometheus.Histogram
}

var rejectReasons = []string{"invalid", "unauthorized", "forbidden", "not_found", "conflict", "too_large", "rate_limited", "unavailable", "internal"}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "unmogrowp_events_accepted_total",
			Help: "Events acknowledged: durable in the log.",
		}),
		touchpoints: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "unmogrowp_touchpoints_accepted_total",
			Help: "Touchpoints (clicks and impressions) acknowledged: durable in the log.",
		}),
		rejectedVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "unmogrowp_events_rejected_total",
			Help: "Events and touchpoints refused, by reason (the error code of the answer).",
		}, []string{"reason"}),
		rejectedByID: map[string]prometheus.Counter{},
		logAppend: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "unmogrowp_log_append_seconds",
			Help:    "Time for the log to make one request's events durable.",
			Buckets: []float64{.0002, .0005, .001, .002, .005, .01, .02, .05, .1, .25, 1},
		}),
	}
	for _, r := range rejectReasons {
		m.rejectedByID[r] = m.rejectedVec.WithLabelValues(r)
	}
	reg.MustRegister(m.accepted, m.touchpoints, m.rejectedVec, m.logAppend)
	return m
}

// rejected counts n events or touchpoints refused for reason (an error code).
func (m *metrics) rejected(reason string, n int) {
	c, ok := m.rejectedByID[reason]
	if !ok {
		c = m.rejectedByID["internal"]
	}
	c.Add(float64(n))
}
