package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// VisibleResult is how long acknowledged events took to be visible (loadgen --visible).
type VisibleResult struct {
	Via       string  `json:"via"`     // the endpoint polled
	Markers   int     `json:"markers"` // marker installs acknowledged during the load
	Seen      int     `json:"seen"`    // of those, seen before --visible-timeout
	Failed    int     `json:"failed"`  // not acknowledged, or an error while polling
	LastError string  `json:"last_error,omitempty"`
	P50Ms     float64 `json:"p50_ms"` // from the marker's 200 to the first poll that saw it
	P99Ms     float64 `json:"p99_ms"`
	MaxMs     float64 `json:"max_ms"`
	// DrainSeconds is how long after the load ended a marker sent then was visible: the
	// pipeline reads the log in order, so everything acknowledged before it was processed
	// too. -1 when that took longer than --visible-timeout.
	DrainSeconds float64 `json:"drain_seconds"`
	// PipelineEventsPerSec is the events acknowledged over the time from the start to the
	// drain: what the pipeline sustained end to end.
	PipelineEventsPerSec float64 `json:"pipeline_events_per_second,omitempty"`

	timeout time.Duration
}

// visibility sends marker installs, each of a new device, and polls an endpoint that
// answers 404 for a device until the pipeline processed its install.
type visibility struct {
	client           *http.Client
	sendURL, sdkKey  string
	via              string
	poll             func(device string) (*http.Request, error)
	every, timeout   time.Duration
	interval         time.Duration // the shortest wait between polls
	runID            string
	mu               sync.Mutex
	delays           []time.Duration
	sent, seen, fail int
	lastErr          string
	n                int
}

func newVisibility(c config, base, runID string) *visibility {
	v := &visibility{
		client:  &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}},
		sendURL: base + "/v1/events", sdkKey: c.Keys[0], every: c.VisibleEvery, timeout: c.VisibleTimeout,
		interval: 10 * time.Millisecond, runID: runID,
	}
	if v.timeout <= 0 {
		v.timeout = 2 * time.Minute
	}
	if c.APIURL != "" && c.AppID != "" && c.ServerKey != "" {
		api := strings.TrimRight(c.APIURL, "/") + "/api/apps/" + url.PathEscape(c.AppID) + "/attribution/"
		v.via = "GET /api/apps/{app_id}/attribution/{device_id} (the analytics store)"
		v.poll = func(device string) (*http.Request, error) {
			req, err := http.NewRequest(http.MethodGet, api+url.PathEscape(device), nil)
			if err == nil {
				req.Header.Set("X-Api-Key", c.ServerKey)
			}
			return req, err
		}
	} else {
		v.via = "GET /v1/attribution (the hot state)"
		v.poll = func(device string) (*http.Request, error) {
			req, err := http.NewRequest(http.MethodGet, base+"/v1/attribution?device_id="+url.QueryEscape(device), nil)
			if err == nil {
				req.Header.Set("X-App-Key", v.sdkKey)
			}
			return req, err
		}
	}
	return v
}

// markers sends a marker every v.every until the deadline, then waits for them all.
func (v *visibility) markers(ctx context.Context, deadline time.Time) {
	var wg sync.WaitGroup
	t := time.NewTicker(v.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case now := <-t.C:
			if !now.Before(deadline) {
				wg.Wait()
				return
			}
			wg.Go(func() {
				acked, seenAt, err := v.marker(ctx)
				v.mu.Lock()
				defer v.mu.Unlock()
				switch {
				case err != nil:
					v.fail++
					v.lastErr = err.Error()
				case !seenAt.IsZero():
					v.sent++
					v.seen++
					v.delays = append(v.delays, seenAt.Sub(acked))
				default:
					v.sent++
				}
			})
		}
	}
}

// drain sends one more marker and returns when it was seen (zero when it was not).
func (v *visibility) drain(ctx context.Context) time.Time {
	_, seenAt, err := v.marker(ctx)
	if err != nil {
		v.mu.Lock()
		v.fail++
		v.lastErr = err.Error()
		v.mu.Unlock()
	}
	return seenAt
}

// marker sends a marker install and polls until it is visible: it returns when the 200
// came and when a poll first saw it (zero when it was not seen within v.timeout).
func (v *visibility) marker(ctx context.Context) (acked, seenAt time.Time, err error) {
	v.mu.Lock()
	v.n++
	device := "vis-" + v.runID + "-" + strconv.Itoa(v.n)
	v.mu.Unlock()
	body := `{"event_type":"install","event_id":"` + device + `","device_id":"` + device +
		`","platform":"android","os_version":"14","app_version":"3.0.1","timestamp":` + strconv.FormatInt(time.Now().Unix(), 10) + `}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.sendURL, strings.NewReader(body))
	if err != nil {
		return acked, seenAt, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-App-Key", v.sdkKey)
	resp, err := v.client.Do(req)
	if err != nil {
		return acked, seenAt, fmt.Errorf("send marker: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return acked, seenAt, fmt.Errorf("send marker: %s", resp.Status)
	}
	acked = time.Now()
	for time.Since(acked) < v.timeout {
		req, err := v.poll(device)
		if err != nil {
			return acked, seenAt, err
		}
		resp, err := v.client.Do(req.WithContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return acked, seenAt, ctx.Err()
			}
			return acked, seenAt, fmt.Errorf("poll marker: %w", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			return acked, time.Now(), nil
		case http.StatusNotFound:
		default:
			return acked, seenAt, fmt.Errorf("poll marker: %s", resp.Status)
		}
		select {
		case <-ctx.Done():
			return acked, seenAt, ctx.Err()
		case <-time.After(pollWait(time.Since(acked), v.interval)):
		}
	}
	return acked, seenAt, nil
}

// pollWait returns how long to wait before the next poll for a marker acknowledged
// elapsed ago: a twentieth of that, from floor to half a second, so that the delay is
// measured within about 5% (or floor) with a few dozen polls, not a hundred a second of
// queries that would load the server being measured.
func pollWait(elapsed, floor time.Duration) time.Duration {
	return max(floor, min(elapsed/20, 500*time.Millisecond))
}

// result summarises the markers; end is when the load stopped, drainAt when the last
// marker was seen.
func (v *visibility) result(start, end, drainAt time.Time, events int64) *VisibleResult {
	v.mu.Lock()
	defer v.mu.Unlock()
	r := &VisibleResult{Via: v.via, Markers: v.sent, Seen: v.seen, Failed: v.fail, LastError: v.lastErr, DrainSeconds: -1, timeout: v.timeout}
	if len(v.delays) > 0 {
		ds := slices.Clone(v.delays)
		slices.Sort(ds)
		q := func(p float64) float64 {
			i := min(len(ds)-1, max(0, int(float64(len(ds))*p+0.999999)-1))
			return ds[i].Seconds() * 1000
		}
		r.P50Ms, r.P99Ms, r.MaxMs = q(0.5), q(0.99), ds[len(ds)-1].Seconds()*1000
	}
	if !drainAt.IsZero() {
		r.DrainSeconds = max(0, drainAt.Sub(end).Seconds())
		r.PipelineEventsPerSec = float64(events) / drainAt.Sub(start).Seconds()
	}
	return r
}
