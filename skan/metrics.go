package skan

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Results of unmogrowp_skan_postbacks_total: the signature states, counted at intake;
// unknown_app, counted at intake for a postback whose app is not found; duplicate, counted
// by the pipeline for a copy of a postback it has seen within the dedup window.
const (
	ResultUnknownApp = "unknown_app"
	ResultDuplicate  = "duplicate"
)

// Counter returns the counter unmogrowp_skan_postbacks_total{kind,result} of reg,
// registering it on first use: the ingestion listener and the pipeline count into the one
// counter when they share a registry (`serve`), each into its own otherwise.
func Counter(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "unmogrowp_skan_postbacks_total",
		Help: "SKAdNetwork (kind skan) and AdAttributionKit (kind aak) postbacks received, by result: the signature (valid, invalid, unsupported_version) or unknown_app at intake; duplicate in the pipeline.",
	}, []string{"kind", "result"})
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing
			}
		}
		panic(err) // a collector of another shape under the name: a bug
	}
	return c
}
