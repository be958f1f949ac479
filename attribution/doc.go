// Package attribution decides which touchpoint caused an install, by the rules of
// ATTRIBUTION.md. Decide is a pure, deterministic function of the install, its candidate
// touchpoints, the app's settings and the device's previous decision (Prior), with no I/O
// and no clock, so every deployment, embedded or distributed, gives the same answer for
// the same input. CandidateKeys and TouchpointKeys give a hot-state index the keys to store
// touchpoints under and to fetch an install's candidates by.
//
// Where ATTRIBUTION.md leaves room, the rules are:
//
//   - Windows are closed: a touch exactly one window before the install is inside
//     (0 <= install time - touch time <= window); one second older is outside. A touch
//     after the install time is never a candidate; one at the install time is (and is
//     then click injection unless min_ctit_seconds is 0). The re-attribution window is
//     closed the same way.
//   - CTIT exactly min_ctit_seconds is valid, less is click_injection (compared on exact
//     durations; ctit_seconds is rounded down). A touch exactly at install_begin_ts is
//     valid, after it is click_injection. Both checks, and blocked_ip, apply to
//     impressions as well as clicks.
//   - rejected lists every touchpoint that matched a level the decision considered but
//     was invalid, at levels below the winning one too, once per touchpoint id, with the
//     first reason that applies in the order click_injection, blocked_ip, datacenter_ip,
//     ctit_anomaly, click_flood (unmogrowp.RejectReasons). It is ordered by the first
//     level (in waterfall order) the touchpoint matched, then most recent first. An
//     install with no winner and a non-empty rejected is a rejected install:
//     match_type and media_source "rejected", not attributed.
//   - datacenter_ip: the touchpoint's IP, or the install's, is in the datacenter ranges
//     given to Rules.WithDatacenters (none given: the rule matches nothing). An install
//     from a datacenter rejects every candidate it has; without candidates it is organic.
//   - ctit_anomaly: CTIT strictly above max_ctit_hours (exactly max is valid).
//   - click_flood: a click matched at the fingerprint level only (neither by referrer nor
//     by device id) is rejected when the clicks of its media source and site_id from the
//     install's IP (an IPv6 address by its /64), touched in the click lookback window up
//     to the install time, are more than click_flood_threshold. The clicks counted are the
//     candidates Decide is given, each id once: a hot state returns at most
//     MaxCandidatesPerKey of them under the install's fingerprint key, so a threshold
//     above that sees at most that many.
//   - Inside a level the most recent touch wins; ties go to the later ReceivedAt, then to
//     the greater touchpoint id.
//   - Device ids match kind by kind (idfa with idfa, gaid with gaid, android_id with
//     android_id, device_id with device_id): idfa, gaid and android_id without regard to
//     case, device_id exactly; empty and all-zero ids never match.
//   - A later install within reattribution_window_days of the first install is
//     re-attributed to the best valid click of levels 1-3 that is strictly newer than the
//     previous install (Prior.Attribution.InstallTime); rejected then lists only invalid
//     clicks of levels 1-3 newer than the previous install. Without such a click it is a
//     reinstall that keeps the attribution it had (touch fields and ctit_seconds
//     included), with its own install_event_id and install_time. After the window the
//     full waterfall runs afresh, every candidate included.
//
// Fingerprints need a platform, an OS version and a model from a click's user agent.
// ParseUserAgent is a small parser written for the mobile families attribution sees
// (iOS Safari and web views, CFNetwork app UAs, Android browsers, web views and Dalvik),
// because no maintained Go library maps a mobile user agent to (platform, OS
// major.minor, model) without carrying a large regular-expression database, and this is
// a hot path: a few string searches per touchpoint suffice.
package attribution
