// A typed client of the API listener (API.md, section 2). Every call is signed in by the
// session cookie, and one that changes something carries the CSRF token (auth.svelte.ts);
// a 401 signs the user out and sends the browser to the sign-in page.

import { goto } from '$app/navigation';
import { auth } from './auth.svelte';

/** An error answer of the API: its status and its `error` sentence. */
export class ApiError extends Error {
	constructor(
		readonly status: number,
		message: string,
		/** A login whose password is right but that needs a (right) two-factor code. */
		readonly twoFactorRequired = false
	) {
		super(message);
		this.name = 'ApiError';
	}
}

export interface User {
	id: string;
	email: string;
	name: string;
}

/**
 * The answer of register and login. It also holds the session's bearer token, for scripts;
 * the dashboard does not read it: the session cookie the same answer sets signs it in.
 */
export interface Session {
	user: User;
}

/** What the server offers before sign-in (GET /api/auth/config). */
export interface AuthConfig {
	signup: 'open' | 'invite' | 'closed';
	password_reset: boolean;
	google: boolean;
}

/** One of the user's sessions. */
export interface SessionItem {
	id: string;
	created_at: string;
	last_seen_at: string;
	expires_at: string;
	user_agent: string;
	ip: string;
	current: boolean;
}

/** The user's two-factor sign-in state. */
export interface TwoFactorState {
	enabled: boolean;
	pending: boolean;
	recovery_codes_left: number;
}

/** A new TOTP secret, pending until confirmed. */
export interface TwoFactorEnrolment {
	secret: string;
	otpauth_url: string;
	qr_png: string;
}

/** Whether sign-in with Google is on; with it, the client id and where the code flow starts. */
export interface GoogleConfig {
	enabled: boolean;
	client_id?: string;
	start_url?: string;
}

export type Platform = 'ios' | 'android' | 'web' | 'other';

export interface AppSettings {
	click_lookback_days: number;
	view_lookback_hours: number;
	fingerprint_window_hours: number;
	fingerprint_enabled: boolean;
	reattribution_window_days: number;
	min_ctit_seconds: number;
	ip_blocklist: string[];
	require_signature: boolean;
	rate_limit_per_second: number;
	max_event_age_days: number;
	reporting_currency: string;
	inactivity_days?: number;
	block_datacenter_ips?: boolean;
	click_flood_threshold?: number;
	max_ctit_hours?: number;
	ios_team_id?: string;
	ios_bundle_id?: string;
	android_package?: string;
	android_sha256_fingerprints?: string[];
	/** The App Store id SKAdNetwork and AdAttributionKit postbacks name the app by; 0: none. */
	app_store_id: number;
	/** Whether AdAttributionKit's development postbacks count in the SKAN report. */
	skan_accept_development: boolean;
	/** IANA time zone name: reports' days are its calendar days. */
	timezone: string;
}

export interface App {
	id: string;
	name: string;
	platform: Platform;
	bundle_id: string;
	ios_url: string;
	android_url: string;
	web_url: string;
	sdk_key: string;
	signing_secret: string;
	settings: AppSettings;
	created_at: string;
	/** The ingestion listener's public base URL, where the app's SDKs and servers send events; "" when the server knows none. */
	ingest_url: string;
	/** The signed-in user's role on the app. */
	role?: Role;
}

/** A role on an app (docs/teams.md): each may do what those before it may. */
export type Role = 'viewer' | 'editor' | 'admin' | 'owner';
export const ROLES: Role[] = ['viewer', 'editor', 'admin', 'owner'];

/** Whether the role may do what min may. */
export function atLeast(role: Role | undefined, min: Role): boolean {
	return role !== undefined && ROLES.indexOf(role) >= ROLES.indexOf(min);
}

export interface Member {
	user: User;
	role: Role;
	added_at: string;
}

export interface Invitation {
	id: string;
	email: string;
	role: Role;
	created_at: string;
	expires_at: string;
	/** Only in the answer that makes it. */
	token?: string;
}

export interface Members {
	members: Member[];
	invitations: Invitation[];
}

/** The answer of adding a member: the member, or an invitation with its token. */
export type MemberAdded = ({ status: 'added' } & Member) | ({ status: 'invited' } & Invitation);

export interface AuditEntry {
	id: string;
	at: string;
	user: { id: string; email: string } | null;
	via: 'session' | 'token' | 'server_key';
	action: string;
	target: string;
	changes: Record<string, unknown>;
}

export interface AuditPage {
	entries: AuditEntry[];
	next_cursor: string;
}

export type TokenScope = 'read' | 'write';

/** A personal access token: the token itself only in the answer that makes it. */
export interface AccessToken {
	id: string;
	name: string;
	scope: TokenScope;
	token?: string;
	created_at: string;
	expires_at: string | null;
	last_used_at: string | null;
}

/** An app as the answers that create it or rotate its key show it: with its server key. */
export interface AppWithServerKey extends App {
	server_key: string;
}

export interface NewApp {
	name: string;
	platform: Platform;
	bundle_id?: string;
	ios_url?: string;
	android_url?: string;
	web_url?: string;
	settings?: Partial<AppSettings>;
}

export type AppPatch = Partial<Pick<App, 'name' | 'bundle_id' | 'ios_url' | 'android_url' | 'web_url'>> & {
	settings?: Partial<AppSettings>;
};

export interface LinkFields {
	media_source: string;
	campaign?: string;
	adset?: string;
	ad?: string;
	channel?: string;
	ios_url?: string;
	android_url?: string;
	web_url?: string;
	deep_link_value?: string;
	/** The link's own click window in days (1-30); null: the app's. */
	click_lookback_days?: number | null;
	/** The link's own view-through window in hours (1-168); null: the app's. */
	view_lookback_hours?: number | null;
}

export interface Link extends Required<LinkFields> {
	id: string;
	app_id: string;
	site_id: string;
	click_url: string;
	impression_url: string;
	created_at: string;
}

export interface RejectedTouchpoint {
	touchpoint_id: string;
	media_source: string;
	reason: string;
}

export type MatchType =
	| 'referrer'
	| 'device_id'
	| 'fingerprint'
	| 'view_through_device_id'
	| 'view_through_fingerprint'
	| 'organic'
	| 'rejected';

/** An install decision (API.md, "Attribution object"). */
export interface Attribution {
	app_id: string;
	device_id: string;
	install_event_id: string;
	install_time: string;
	attributed: boolean;
	match_type: MatchType;
	touch_type: 'click' | 'impression' | '';
	touchpoint_id: string;
	touch_time: string;
	media_source: string;
	campaign: string;
	adset: string;
	ad: string;
	site_id: string;
	channel: string;
	click_id: string;
	deep_link_value: string;
	ctit_seconds: number;
	is_reinstall: boolean;
	is_reattribution: boolean;
	/** Which path made a reinstall or re-attribution: a later install event ('reinstall'),
	 * or the return of a dormant device through a click ('reengagement'); '' for a new install. */
	reattribution_kind?: ReattributionKind;
	rejected: RejectedTouchpoint[] | null;
}

export type ReattributionKind = 'reinstall' | 'reengagement' | '';

export interface InstallsPage {
	installs: Attribution[];
	next_cursor: string;
}

export interface Stats {
	installs: number;
	organic_installs: number;
	non_organic_installs: number;
	reinstalls: number;
	rejected_installs: number;
	clicks: number;
	impressions: number;
	conversion_rate: number;
	events: number;
	revenue: number;
	active_devices: number;
	sessions: number;
	/** The reporting currency revenue is converted to. */
	currency: string;
	/** Events whose revenue had no exchange rate: left out of revenue. */
	unconverted_amounts: number;
}

export type ChartType = 'installs' | 'media_sources' | 'events' | 'revenue' | 'platforms';
export type Interval = 'hour' | 'day';

/** A chart ready for ECharts: x-axis categories and one value per category in each series. */
export interface Chart {
	categories: string[];
	series: { name: string; data: number[] }[];
	/** Day charts: the zone whose dates the categories are. */
	timezone?: string;
	/** The revenue chart: its currency, and the events whose revenue had no rate. */
	currency?: string;
	unconverted_amounts?: number;
}

export type LTVGroup = 'media_source' | 'campaign' | 'none';

/** One cohort of the LTV report; maps are keyed by day N ("0", "7"...), a day not ended yet absent. */
export interface LTVCohort {
	install_date: string;
	media_source: string;
	campaign: string;
	installs: number;
	cost: number;
	revenue: Record<string, number>;
	arpu: Record<string, number>;
	roas: Record<string, number | null>;
	paying_users: Record<string, number>;
}

export interface LTVReport {
	currency: string;
	timezone: string;
	cohorts: LTVCohort[];
	unconverted_amounts: number;
}

export interface MediaSourceRow {
	media_source: string;
	campaign: string;
	clicks: number;
	impressions: number;
	installs: number;
	conversion_rate: number;
	events: number;
	revenue: number;
	rejected_installs: number;
	/** In the report's currency: imported cost, else the touchpoints' (docs/cost.md). */
	cost: number;
	/** cost / installs; null without installs. */
	ecpi: number | null;
	/** revenue / cost; null without cost. */
	roas: number | null;
}

/** The media_sources report: its rows, the currency of their revenue and cost, and the amounts without a rate. */
export interface MediaSourceReport {
	rows: MediaSourceRow[];
	currency: string;
	unconverted_amounts: number;
}

/** A report of the raw export (docs/export.md). */
export type ExportReport = 'installs' | 'events' | 'touchpoints' | 'rejected' | 'skan_postbacks' | 'postback_deliveries';

/** A scheduled export's destination: an S3-compatible bucket. The secret is only sent. */
export interface ExportDestination {
	type: 's3';
	endpoint: string;
	region: string;
	bucket: string;
	prefix: string;
	access_key_id: string;
	path_style: boolean;
	/** Whether a secret access key is stored (it is never answered). */
	has_secret?: boolean;
	secret_access_key?: string;
}

/** A scheduled export to object storage: /api/apps/{app_id}/exports. */
export interface ScheduledExport {
	id: string;
	reports: ExportReport[];
	format: 'csv.gz' | 'ndjson.gz' | 'parquet';
	cadence: 'hourly' | 'daily';
	destination: ExportDestination;
	start: string;
	created_at: string;
}

/** What POST /api/apps/{app_id}/exports takes. */
export type ScheduledExportRequest = Omit<ScheduledExport, 'id' | 'start' | 'created_at'> & { start?: string };

/** One report's period of a scheduled export. */
export interface ExportRun {
	report: ExportReport;
	period_start: string;
	period_end: string;
	status: 'pending' | 'succeeded' | 'failed';
	rows: number;
	bytes: number;
	sha256: string;
	error: string;
	attempts: number;
	rewrites: number;
	next_attempt_at: string | null;
	written_at: string | null;
	checked_at: string | null;
}

/** A row of imported cost: POST and GET /api/apps/{app_id}/costs. */
export interface Cost {
	date: string;
	media_source: string;
	campaign: string;
	adset: string;
	ad: string;
	country: string;
	cost: number;
	currency: string;
	impressions: number;
	clicks: number;
}

export interface RetentionCohort {
	install_date: string;
	installs: number;
	retained: number[];
}

export interface FraudRow {
	media_source: string;
	reason: string;
	/** Distinct rejected touchpoints. */
	touchpoints: number;
	/** Distinct install decisions that rejected one. */
	installs: number;
	count: number;
}

/** A breakdown dimension (API.md section 4), in drill-down order. */
export type Dimension =
	| 'media_source'
	| 'campaign'
	| 'adset'
	| 'ad'
	| 'site_id'
	| 'channel'
	| 'country'
	| 'platform'
	| 'app_version'
	| 'os_version';

/** A breakdown metric. */
export type Metric =
	| 'installs'
	| 'organic_installs'
	| 'clicks'
	| 'impressions'
	| 'conversion_rate'
	| 'events'
	| 'unique_devices'
	| 'revenue'
	| 'cost'
	| 'ecpi'
	| 'roas'
	| 'sessions'
	| 'rejected_installs'
	| 'reengagements';

/** What a breakdown asks: the dimensions, metrics, filters (dimension to values), event type, comparison and sort. */
export interface BreakdownQuery {
	by: Dimension[];
	metrics: Metric[];
	filters?: Partial<Record<Dimension, string[]>>;
	eventType?: string;
	compare?: boolean;
	sort?: string;
	limit?: number;
	cursor?: string;
}

/**
 * A breakdown row: its dimensions' values (null where the row's facts lack the dimension)
 * and its metrics' (null: none, as eCPI without installs); with compare, the previous
 * period's values and the change, (value - previous) / previous, null when previous is 0.
 */
export type BreakdownRow = Record<string, string | number | null | undefined> & {
	previous?: Record<string, number | null>;
	change?: Record<string, number | null>;
};

/** The answer of GET /api/analytics/reports/breakdown. */
export interface Breakdown {
	rows: BreakdownRow[];
	totals: BreakdownRow;
	currency: string;
	timezone: string;
	unconverted_amounts: number;
	next_cursor: string | null;
}

/** Retention split by a dimension: one cohort list per value (the retention report with by=). */
export interface RetentionRow {
	media_source?: string | null;
	campaign?: string | null;
	cohorts: RetentionCohort[];
}

/** One touchpoint of an explanation (GET .../attribution/{device_id}/explain). */
export interface ExplainCandidate {
	touchpoint_id: string;
	media_source: string;
	touch_type: 'click' | 'impression';
	level: MatchType;
	in_window: boolean;
	ctit_seconds: number;
	outcome: 'won' | 'lost' | 'rejected';
	reason: string;
}

export interface Explanation {
	decision: Attribution;
	candidates: ExplainCandidate[];
}

export type PostbackKind = 'postback' | 'webhook';
export type Trigger = 'install' | 'reinstall' | 'reattribution' | 'event' | 'rejected_install';
export const TRIGGERS: Trigger[] = ['install', 'reinstall', 'reattribution', 'event', 'rejected_install'];

/** What a caller sets on a postback (POSTBACKS.md); the secret is write-only. */
export interface PostbackFields {
	name: string;
	kind: PostbackKind;
	media_source: string;
	send_all: boolean;
	triggers: Trigger[];
	event_types: string[];
	method: 'GET' | 'POST';
	url_template: string;
	body_template: string;
	headers: Record<string, string>;
	secret?: string;
	enabled: boolean;
}

/** A postback as the API shows it: without its secret, with whether it has one. */
export interface Postback extends Omit<PostbackFields, 'secret'> {
	id: string;
	has_secret: boolean;
	created_at: string;
}

/** The request a postback makes for a sample activity: expanded, before signing. */
export interface PostbackRequest {
	activity_kind: Trigger;
	delivery_id: string;
	method: string;
	url: string;
	headers: Record<string, string>;
	body: string;
}

/** What one test postback came to. */
export interface PostbackTestResult {
	result: 'delivered' | 'retry' | 'failed' | 'refused';
	delivered: boolean;
	last_status: number;
	last_error: string;
	request: PostbackRequest;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One delivery of the delivery log. */
export interface Delivery {
	id: string;
	activity_kind: Trigger;
	status: DeliveryStatus;
	url: string;
	attempts: number;
	last_status: number;
	last_error: string;
	created_at: string;
	next_attempt_at: string | null;
	delivered_at: string | null;
}

export interface DeliveriesPage {
	deliveries: Delivery[];
	next_cursor: string;
}

/** One row of the SKAN report (docs/skan.md, "The report"). */
export interface SKANReportRow {
	media_source: string;
	campaign: string;
	postback_sequence_index: number;
	installs: number;
	redownloads: number;
	non_winning: number;
	reengagements: number;
	/** Postbacks by fine conversion value, "0" to "63". */
	conversion_values: Record<string, number>;
	null_conversion_values: number;
	coarse: { low: number; medium: number; high: number };
	revenue_min: number;
	revenue_max: number;
	invalid_signatures: number;
}

/** A stored SKAdNetwork or AdAttributionKit postback: absent numbers and booleans null, absent strings "". */
export interface SKANPostback {
	id: string;
	app_id: string;
	kind: 'skan' | 'aak';
	version: string;
	ad_network_id: string;
	media_source: string;
	campaign: string;
	source_identifier: string;
	campaign_id: number | null;
	source_app_id: number | null;
	source_domain: string;
	publisher_item_identifier: number | null;
	transaction_id: string;
	postback_identifier: string;
	postback_sequence_index: number | null;
	did_win: boolean | null;
	redownload: boolean | null;
	fidelity_type: number | null;
	conversion_value: number | null;
	coarse_conversion_value: '' | 'low' | 'medium' | 'high';
	conversion_type: string;
	ad_interaction_type: string;
	country_code: string;
	signature: 'valid' | 'invalid' | 'unsupported_version';
	environment: 'production' | 'development';
	cv_mismatch: boolean;
	decoded: { events: string[] | null; revenue_min: number | null; revenue_max: number | null; currency: string };
	received_at: string;
}

export interface SKANPostbacksPage {
	postbacks: SKANPostback[];
	next_cursor: string;
}

/** The time range of a report: RFC 3339 times, [from, to). */
export interface Range {
	from: string;
	to: string;
}

type Query = Record<string, string | number | undefined>;

function url(path: string, query?: Query): string {
	if (!query) return path;
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, String(v));
	const s = q.toString();
	return s ? `${path}?${s}` : path;
}

/** The methods that change nothing, which need no CSRF token. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Calls the API. body is sent as JSON, or as it is (a string) when contentType names
 * another type.
 */
async function request<T>(method: string, path: string, body?: unknown, query?: Query, contentType?: string): Promise<T> {
	const headers: Record<string, string> = { Accept: 'application/json' };
	if (body !== undefined) headers['Content-Type'] = contentType ?? 'application/json';
	const csrf = SAFE_METHODS.has(method) ? null : auth.csrf();
	if (csrf) headers['X-CSRF-Token'] = csrf;
	let resp: Response;
	try {
		resp = await fetch(url(path, query), {
			method,
			headers,
			credentials: 'same-origin',
			body: body === undefined ? undefined : contentType ? String(body) : JSON.stringify(body)
		});
	} catch {
		throw new ApiError(0, 'The server could not be reached. Check your connection and try again.');
	}
	if (resp.status === 401 && !path.startsWith('/api/auth/')) {
		auth.signOut();
		const here = location.pathname + location.search;
		await goto(`/login?return_to=${encodeURIComponent(here)}`);
		throw new ApiError(401, 'Your session has ended. Please sign in again.');
	}
	if (resp.status === 204) return undefined as T;
	let data: unknown = null;
	try {
		data = await resp.json();
	} catch {
		// not JSON: keep null and let the status speak
	}
	if (!resp.ok) {
		const msg =
			data && typeof data === 'object' && 'error' in data && typeof data.error === 'string'
				? data.error
				: `The server answered ${resp.status} ${resp.statusText}.`;
		const twoFactor = !!(data && typeof data === 'object' && 'two_factor_required' in data && data.two_factor_required === true);
		throw new ApiError(resp.status, msg, twoFactor);
	}
	return data as T;
}

/** The API, one method per route the dashboard uses. */
export const api = {
	authConfig: () => request<AuthConfig>('GET', '/api/auth/config'),
	/** Signs up; with an invitation token, redeems it at once (accepted_app_id). */
	register: (email: string, password: string, name: string, invitation?: string) =>
		request<Session & { accepted_app_id?: string }>('POST', '/api/auth/register', { email, password, name, invitation }),
	/** Signs in; code or recovery_code when two-factor sign-in asks for one. */
	login: (email: string, password: string, second?: { code?: string; recovery_code?: string }) =>
		request<Session>('POST', '/api/auth/login', { email, password, ...second }),
	requestPasswordReset: (email: string) => request<{ status: string }>('POST', '/api/auth/password-reset', { email }),
	confirmPasswordReset: (token: string, password: string) =>
		request<void>('POST', '/api/auth/password-reset/confirm', { token, password }),
	sessions: async () => (await request<{ sessions: SessionItem[] }>('GET', '/api/auth/sessions')).sessions ?? [],
	revokeSession: (id: string) => request<void>('DELETE', `/api/auth/sessions/${encodeURIComponent(id)}`),
	twoFactor: () => request<TwoFactorState>('GET', '/api/auth/two-factor'),
	startTwoFactor: () => request<TwoFactorEnrolment>('POST', '/api/auth/two-factor'),
	confirmTwoFactor: (code: string) =>
		request<{ enabled: boolean; recovery_codes: string[] }>('POST', '/api/auth/two-factor/confirm', { code }),
	disableTwoFactor: (second: { code?: string; recovery_code?: string }) =>
		request<void>('POST', '/api/auth/two-factor/disable', second),
	logout: () => request<void>('POST', '/api/auth/logout'),
	me: () => request<{ user: User }>('GET', '/api/auth/me'),
	/** The Google sign-in configuration, or null when the server has none ({"enabled":false}). */
	google: async (): Promise<GoogleConfig | null> => {
		const g = await request<GoogleConfig>('GET', '/api/auth/google');
		return g.enabled ? g : null;
	},

	apps: async () => (await request<{ apps: App[] }>('GET', '/api/apps')).apps ?? [],
	createApp: (app: NewApp) => request<AppWithServerKey>('POST', '/api/apps', app),
	app: (id: string) => request<App>('GET', `/api/apps/${encodeURIComponent(id)}`),
	updateApp: (id: string, patch: AppPatch) => request<App>('PATCH', `/api/apps/${encodeURIComponent(id)}`, patch),
	deleteApp: (id: string) => request<void>('DELETE', `/api/apps/${encodeURIComponent(id)}`),
	rotateServerKey: (id: string) =>
		request<AppWithServerKey>('POST', `/api/apps/${encodeURIComponent(id)}/keys/rotate`),

	members: (appID: string) => request<Members>('GET', `/api/apps/${encodeURIComponent(appID)}/members`),
	addMember: (appID: string, email: string, role: Role) =>
		request<MemberAdded>('POST', `/api/apps/${encodeURIComponent(appID)}/members`, { email, role }),
	setRole: (appID: string, userID: string, role: Role) =>
		request<Member>('PATCH', `/api/apps/${encodeURIComponent(appID)}/members/${encodeURIComponent(userID)}`, { role }),
	removeMember: (appID: string, userID: string) =>
		request<void>('DELETE', `/api/apps/${encodeURIComponent(appID)}/members/${encodeURIComponent(userID)}`),
	revokeInvitation: (appID: string, id: string) =>
		request<void>('DELETE', `/api/apps/${encodeURIComponent(appID)}/invitations/${encodeURIComponent(id)}`),
	leave: (appID: string) => request<void>('POST', `/api/apps/${encodeURIComponent(appID)}/leave`),
	transfer: (appID: string, userID: string) =>
		request<Members>('POST', `/api/apps/${encodeURIComponent(appID)}/transfer`, { user_id: userID }),
	audit: (appID: string, limit: number, cursor?: string) =>
		request<AuditPage>('GET', `/api/apps/${encodeURIComponent(appID)}/audit`, undefined, { limit, cursor }),
	acceptInvitation: (token: string) =>
		request<App>('POST', `/api/invitations/${encodeURIComponent(token)}/accept`),

	tokens: async () => (await request<{ tokens: AccessToken[] }>('GET', '/api/auth/tokens')).tokens ?? [],
	createToken: (name: string, scope: TokenScope, expiresInDays?: number) =>
		request<AccessToken>('POST', '/api/auth/tokens', { name, scope, expires_in_days: expiresInDays }),
	revokeToken: (id: string) => request<void>('DELETE', `/api/auth/tokens/${encodeURIComponent(id)}`),

	links: async (appID: string) =>
		(await request<{ links: Link[] }>('GET', `/api/apps/${encodeURIComponent(appID)}/links`)).links ?? [],
	createLink: (appID: string, link: LinkFields) =>
		request<Link>('POST', `/api/apps/${encodeURIComponent(appID)}/links`, link),
	updateLink: (appID: string, id: string, patch: Partial<LinkFields>) =>
		request<Link>('PATCH', `/api/apps/${encodeURIComponent(appID)}/links/${encodeURIComponent(id)}`, patch),
	deleteLink: (appID: string, id: string) =>
		request<void>('DELETE', `/api/apps/${encodeURIComponent(appID)}/links/${encodeURIComponent(id)}`),
	/** The URL of a link's QR code image, which the session cookie authorizes (an <img> or a download). */
	linkQR: (appID: string, id: string, format: 'png' | 'svg', size: number) =>
		url(`/api/apps/${encodeURIComponent(appID)}/links/${encodeURIComponent(id)}/qr`, { format, size }),

	postbacks: async (appID: string) =>
		(await request<{ postbacks: Postback[] }>('GET', `/api/apps/${encodeURIComponent(appID)}/postbacks`)).postbacks ?? [],
	createPostback: (appID: string, p: PostbackFields) =>
		request<Postback>('POST', `/api/apps/${encodeURIComponent(appID)}/postbacks`, p),
	updatePostback: (appID: string, id: string, p: Partial<PostbackFields>) =>
		request<Postback>('PATCH', `/api/apps/${encodeURIComponent(appID)}/postbacks/${encodeURIComponent(id)}`, p),
	deletePostback: (appID: string, id: string) =>
		request<void>('DELETE', `/api/apps/${encodeURIComponent(appID)}/postbacks/${encodeURIComponent(id)}`),
	previewPostback: (appID: string, p: Partial<PostbackFields>, activityKind?: Trigger) =>
		request<PostbackRequest>('POST', `/api/apps/${encodeURIComponent(appID)}/postbacks/preview`, p, {
			activity_kind: activityKind
		}),
	testPostback: (appID: string, id: string, activityKind?: Trigger) =>
		request<PostbackTestResult>(
			'POST',
			`/api/apps/${encodeURIComponent(appID)}/postbacks/${encodeURIComponent(id)}/test`,
			undefined,
			{ activity_kind: activityKind }
		),
	deliveries: (appID: string, id: string, limit: number, status?: DeliveryStatus | '', cursor?: string) =>
		request<DeliveriesPage>(
			'GET',
			`/api/apps/${encodeURIComponent(appID)}/postbacks/${encodeURIComponent(id)}/deliveries`,
			undefined,
			{ limit, status, cursor }
		),

	skanReport: async (appID: string, r: Range) =>
		(
			await request<{ rows: SKANReportRow[] }>('GET', '/api/analytics/reports/skan', undefined, {
				app_id: appID,
				...r
			})
		).rows ?? [],
	skanPostbacks: (appID: string, r: Range, limit: number, cursor?: string) =>
		request<SKANPostbacksPage>('GET', `/api/apps/${encodeURIComponent(appID)}/skan/postbacks`, undefined, {
			...r,
			limit,
			cursor
		}),
	/** The conversion-value schema or the network mapping, as the server keeps it (a JSON object). */
	skanConfig: (appID: string, part: 'schema' | 'networks') =>
		request<unknown>('GET', `/api/apps/${encodeURIComponent(appID)}/skan/${part}`),
	/** Replaces the schema or the network mapping; a 400 names the first bad field. */
	putSkanConfig: (appID: string, part: 'schema' | 'networks', body: unknown) =>
		request<unknown>('PUT', `/api/apps/${encodeURIComponent(appID)}/skan/${part}`, body),

	installs: (appID: string, limit: number, cursor?: string) =>
		request<InstallsPage>('GET', `/api/apps/${encodeURIComponent(appID)}/installs`, undefined, { limit, cursor }),

	stats: (appID: string, r: Range) =>
		request<Stats>('GET', '/api/dashboard/stats', undefined, { app_id: appID, ...r }),
	chart: (appID: string, type: ChartType, r: Range, interval: Interval) =>
		request<Chart>('GET', `/api/dashboard/charts/${type}`, undefined, { app_id: appID, ...r, interval }),
	mediaSources: async (appID: string, r: Range): Promise<MediaSourceReport> => {
		const rep = await request<MediaSourceReport>('GET', '/api/analytics/reports/media_sources', undefined, {
			app_id: appID,
			...r
		});
		return { ...rep, rows: rep.rows ?? [] };
	},
	ltv: (appID: string, r: Range, groupBy: LTVGroup, days: number[]) =>
		request<LTVReport>('GET', '/api/analytics/reports/ltv', undefined, {
			app_id: appID,
			...r,
			group_by: groupBy,
			days: days.join(',')
		}),
	/** The app's imported cost with date in [from, to] (YYYY-MM-DD, either optional). */
	costs: async (appID: string, from?: string, to?: string) =>
		(await request<{ costs: Cost[] }>('GET', `/api/apps/${encodeURIComponent(appID)}/costs`, undefined, { from, to }))
			.costs ?? [],
	/** Uploads a cost CSV file as it is; the server answers how many rows it stored. */
	importCosts: (appID: string, csv: string) =>
		request<{ rows: number }>('POST', `/api/apps/${encodeURIComponent(appID)}/costs`, csv, undefined, 'text/csv'),
	scheduledExports: async (appID: string) =>
		(await request<{ exports: ScheduledExport[] }>('GET', `/api/apps/${encodeURIComponent(appID)}/exports`)).exports ?? [],
	createScheduledExport: (appID: string, e: ScheduledExportRequest) =>
		request<ScheduledExport>('POST', `/api/apps/${encodeURIComponent(appID)}/exports`, e),
	deleteScheduledExport: (appID: string, id: string) =>
		request<void>('DELETE', `/api/apps/${encodeURIComponent(appID)}/exports/${encodeURIComponent(id)}`),
	exportRuns: async (appID: string, id: string, limit = 100) =>
		(
			await request<{ runs: ExportRun[] }>(
				'GET',
				`/api/apps/${encodeURIComponent(appID)}/exports/${encodeURIComponent(id)}/runs`,
				undefined,
				{ limit }
			)
		).runs ?? [],
	retention: async (appID: string, r: Range) =>
		(
			await request<{ cohorts: RetentionCohort[] }>('GET', '/api/analytics/reports/retention', undefined, {
				app_id: appID,
				...r
			})
		).cohorts ?? [],
	/**
	 * Retention split by a dimension (by=media_source or campaign, with the breakdown's
	 * filters): its rows, or null when the server answers no rows (one that does not split
	 * retention answers the whole app's cohorts).
	 */
	retentionBy: async (
		appID: string,
		r: Range,
		by: 'media_source' | 'campaign',
		filters?: Partial<Record<Dimension, string[]>>
	): Promise<RetentionRow[] | null> => {
		const q: Query = { app_id: appID, ...r, by };
		for (const [d, vs] of Object.entries(filters ?? {})) if (vs?.length) q[`filter[${d}]`] = vs.join(',');
		const rep = await request<{ rows?: RetentionRow[] }>('GET', '/api/analytics/reports/retention', undefined, q);
		return Array.isArray(rep.rows) ? rep.rows : null;
	},
	/** A breakdown (API.md section 4): any metrics by any dimensions, filtered, compared, sorted and paged. */
	breakdown: async (appID: string, r: Range, b: BreakdownQuery): Promise<Breakdown> => {
		const q: Query = {
			app_id: appID,
			...r,
			by: b.by.join(','),
			metrics: b.metrics.join(','),
			event_type: b.eventType,
			compare: b.compare ? 'previous_period' : undefined,
			sort: b.sort,
			limit: b.limit,
			cursor: b.cursor
		};
		for (const [d, vs] of Object.entries(b.filters ?? {})) if (vs?.length) q[`filter[${d}]`] = vs.join(',');
		const rep = await request<Breakdown>('GET', '/api/analytics/reports/breakdown', undefined, q);
		return { ...rep, rows: rep.rows ?? [] };
	},
	/** Why the device's latest decision went as it did. */
	explain: (appID: string, deviceID: string) =>
		request<Explanation>('GET', `/api/apps/${encodeURIComponent(appID)}/attribution/${encodeURIComponent(deviceID)}/explain`),
	fraud: async (appID: string, r: Range) =>
		(
			await request<{ rows: FraudRow[] }>('GET', '/api/analytics/reports/fraud', undefined, {
				app_id: appID,
				...r
			})
		).rows ?? []
};

/** The message to show for a failed call. */
export function errorMessage(e: unknown): string {
	if (e instanceof Error) return e.message;
	return String(e);
}
