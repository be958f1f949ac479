// Package unmogrowp holds the domain of UnMoGrowP, a self-hosted mobile attribution and app
// analytics platform: events, apps and their settings, the error codes every layer shares,
// and the seams (log, analytics store, hot state, metadata store) that the embedded and
// distributed backends implement.
package unmogrowp
