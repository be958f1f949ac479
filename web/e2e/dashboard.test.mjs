// Browser test of the dashboard against a running `unmogrowp serve`, in Debian's headless
// Chromium driven by playwright-core. cmd/unmogrowp/dashboard_test.go starts the server and
// runs this; by hand:
//
//   UNMOGROWP_API_URL=http://127.0.0.1:3001 UNMOGROWP_INGEST_URL=http://127.0.0.1:8080 \
//     node e2e/dashboard.test.mjs
//
// It checks that the API port answers unknown non-page paths (/metrics) with a JSON 404,
// that the sign-in page learns that Google sign-in is off without a console error, signs
// up, creates an app (reading its keys off the page, and the ingestion URL its snippet
// shows from the server), sets its minimum click-to-install time to 0 in the settings
// (after seeing an out-of-range number refused before sending and a store URL refused by
// the server, each under its field in the form's words), creates a tracking link, and a
// second one that it edits, shows and downloads the QR code of and deletes, opens the overview, then sends a click on the link with an
// Android user agent and events through the ingestion API, and waits for the live overview
// to show them without a reload: KPI tiles and the installs chart. It then checks the
// reports, the links and the installs pages, and downloads exports from the reports page
// (at 1280 and 390 px) and the installs page; creates a postback (the server refusing an
// unknown macro under its field, the live preview escaping the sample campaign "a b&c"),
// sends a test postback to a receiver on loopback that checks its signature, and opens its
// delivery log, at 1280 px and again at 390 px; invites a second user, who signs up in a
// browser of their own from the link (which makes them a member) and sees as a viewer no
// control they may not use (links, cost upload and postbacks included), then
// is made an editor, as the audit log shows; the invitee turns two-factor sign-in on at
// 390 px (codes computed from the secret the page shows) and signs in again with a code;
// the owner sees their active sessions; makes a personal access token; uploads a
// cost file on the cost page (its preview naming the bad line before sending, the server's
// refusal shown as it says it, then a good file stored) and sees its cost, eCPI and ROAS in
// the media sources report, at 1280 px and the preview again at 390 px; creates a scheduled
// export on the exports page (the server refusing a bad endpoint under its field) whose
// destination refuses, sees its failed runs with the error at 1280 and 390 px, and deletes
// it; and saves screenshots of each page at
// 1280 px and 390 px in UNMOGROWP_ARTIFACTS (default e2e/screenshots). The server must run
// with POSTBACK_ALLOW_PRIVATE=true, for the receiver on loopback, and SECRETS_KEY with a short
// EXPORT_DELAY and EXPORT_INTERVAL, for the export's runs. Throughout, the page runs under
// the dashboard's Content-Security-Policy and must report no violation of it, and the
// session lives in an HttpOnly cookie: never in localStorage or anywhere a script reads.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { artifacts, SETTLE_MS, must, step, shot, settled, waitKPI, openBrowser, run, noSidewaysScroll } from './lib.mjs';

const apiURL = must('UNMOGROWP_API_URL').replace(/\/+$/, '');
const ingestURL = must('UNMOGROWP_INGEST_URL').replace(/\/+$/, '');

/** How long the page may take to show what was sent: processing, then a 5 s refresh. */

const ANDROID_UA =
	'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36';

/** Clicks the export link of the test id and returns the downloaded file's text. */
async function download(page, testid) {
	const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()]);
	assert.equal(await dl.failure(), null, `download ${testid}`);
	assert.match(dl.suggestedFilename(), /\.(csv|ndjson)$/, `the file name of ${testid}`);
	return readFileSync(await dl.path(), 'utf8');
}

/** POSTs JSON to the ingestion listener and checks the answer. */
async function ingest(path, headers, body) {
	const resp = await fetch(ingestURL + path, {
		method: 'POST',
		headers: { 'Content-Type': 'application/json', ...headers },
		body: JSON.stringify(body)
	});
	const text = await resp.text();
	assert.equal(resp.status, 200, `POST ${path}: ${resp.status} ${text}`);
	const data = JSON.parse(text);
	if ('rejected' in data) assert.equal(data.rejected, 0, `POST ${path}: ${text}`);
	return data;
}

/** Clicks a tracking link as an Android phone would and returns the click id it carries. */
async function click(url) {
	const resp = await fetch(url, { redirect: 'manual', headers: { 'User-Agent': ANDROID_UA } });
	assert.equal(resp.status, 302, `GET ${url}: ${resp.status}`);
	const location = resp.headers.get('location') ?? '';
	const referrer = new URL(location).searchParams.get('referrer');
	assert.ok(referrer, `the click's redirect ${location} carries no referrer`);
	const clickID = new URLSearchParams(referrer).get('click_id');
	assert.ok(clickID, `the referrer ${referrer} carries no click_id`);
	return { referrer, clickID, at: Date.now() };
}

/** The number in a KPI tile's data-value. */
async function kpi(page, id) {
	return Number(await page.getByTestId(id).getAttribute('data-value'));
}

/** An HTTP receiver of postbacks on loopback: it records each request and answers 200. */
async function startReceiver() {
	const got = [];
	const server = createServer((req, res) => {
		const chunks = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', () => {
			got.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
			res.writeHead(200).end('ok');
		});
	});
	await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
	return { url: `http://127.0.0.1:${server.address().port}`, got, close: () => server.close() };
}

/** Checks a received postback's signature: HMAC-SHA256(secret, "<timestamp>.<body>"). */
function verifySignature(req, secret) {
	const ts = req.headers['x-unmogrowp-timestamp'];
	assert.match(ts ?? '', /^\d+$/, 'the postback carries X-UnMoGrowP-Timestamp');
	const want = 'sha256=' + createHmac('sha256', secret).update(`${ts}.`).update(req.body).digest('hex');
	assert.equal(req.headers['x-unmogrowp-signature'], want, 'the signature verifies with the secret');
	assert.match(req.headers['x-unmogrowp-delivery-id'] ?? '', /^[0-9a-f]{32}$/, 'the postback carries its delivery id');
}

/** Sends a test postback from the row of the postback and checks what the page and the receiver saw. */
async function sendTestPostback(page, receiver, secret) {
	const before = receiver.got.length;
	const row = page.getByTestId('postback-row').first();
	await row.getByTestId('send-test').click();
	const result = row.getByTestId('test-result');
	await result.waitFor();
	assert.equal(await result.getAttribute('data-result'), 'delivered', `test result: ${await result.textContent()}`);
	assert.match((await result.textContent()) ?? '', /HTTP 200/);
	assert.equal(receiver.got.length, before + 1, 'the receiver got one request');
	const req = receiver.got[before];
	assert.equal(req.method, 'GET');
	assert.match(req.url, /^\/pb\?c=a%20b%26c&clk=sample-click-id$/, `received ${req.url}`);
	assert.ok(((await row.getByTestId('test-url').textContent()) ?? '').endsWith(req.url), 'the page shows the URL sent');
	verifySignature(req, secret);
}

/** The RFC 6238 code (6 digits, HMAC-SHA1, 30 s steps) of the base32 secret at the time at (ms). */
function totp(secret, at) {
	const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
	let bits = '';
	for (const c of secret.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
	const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
	const counter = Buffer.alloc(8);
	counter.writeBigUInt64BE(BigInt(Math.floor(at / 30_000)));
	const h = createHmac('sha1', key).update(counter).digest();
	const o = h[h.length - 1] & 0xf;
	return String((h.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

const browser = await openBrowser({ width: 1280, height: 900 }, { deviceScaleFactor: 1 });
const { context, page, consoleErrors } = browser;
// Every violation of the Content-Security-Policy, as the page's securitypolicyviolation
// events report them.
const cspViolations = [];
await context.exposeFunction('__cspViolation', (v) => cspViolations.push(v));
await context.addInitScript(() => {
	document.addEventListener('securitypolicyviolation', (e) =>
		window.__cspViolation(`${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}: ${e.sample}`)
	);
});

/** Checks that no script of the page can read the session token. */
async function tokenHidden(page, token) {
	const seen = await page.evaluate(() => ({
		storage: JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
		cookie: document.cookie
	}));
	assert.ok(!/ut_[A-Za-z0-9_-]{20,}/.test(seen.storage), `web storage holds a token: ${seen.storage}`);
	assert.ok(!seen.cookie.includes('unmogrowp_session'), `document.cookie shows the session: ${seen.cookie}`);
	assert.match(seen.cookie, /unmogrowp_csrf=/, 'the CSRF cookie is readable by the page');
	const session = (await context.cookies(apiURL)).find((c) => c.name === 'unmogrowp_session');
	assert.ok(session?.httpOnly && session.sameSite === 'Strict', `session cookie ${JSON.stringify(session)}: want HttpOnly, SameSite=Strict`);
	if (token) assert.ok(!seen.storage.includes(token) && !seen.cookie.includes(token), 'the page can read the token');
	return session.value;
}

await run('dashboard', browser, async () => {
	// The API port: /health is both listeners'; /metrics and other paths that are no page of
	// the dashboard answer a JSON 404, not the dashboard's HTML.
	assert.equal((await fetch(apiURL + '/health')).status, 200, 'GET /health on the API port');
	for (const path of ['/metrics', '/robots.txt', '/apps/x/y.js']) {
		const r = await fetch(apiURL + path);
		const body = await r.text();
		assert.equal(r.status, 404, `GET ${path} on the API port: ${r.status} ${body.slice(0, 80)}`);
		assert.match(r.headers.get('content-type') ?? '', /^application\/json/, `GET ${path}: ${r.headers.get('content-type')}`);
		assert.ok(JSON.parse(body).error, `GET ${path}: ${body}`);
	}
	step('unknown non-page paths answer a JSON 404 on the API port');

	// Sign up.
	step(`open ${apiURL}`);
	const googleProbe = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/auth/google');
	const first = await page.goto(apiURL + '/');
	const csp = first.headers()['content-security-policy'] ?? '';
	assert.match(csp, /script-src 'self' 'sha256-[^']+'(;|$)/, `CSP ${csp}: want scripts from the site and hashed inline ones only`);
	assert.match(csp, /frame-ancestors 'none'/, `CSP ${csp}: want no framing`);
	assert.doesNotMatch(csp.match(/script-src[^;]*/)?.[0] ?? '', /unsafe/, `CSP ${csp}: want no unsafe script source`);
	assert.equal(first.headers()['x-frame-options'], 'DENY');
	assert.equal(first.headers()['x-content-type-options'], 'nosniff');
	await page.waitForURL('**/login');
	await shot(page, 'login-1280');
	// No Google sign-in configured: GET /api/auth/google answers 200 {"enabled":false}, the
	// page shows no button, and the console stays clean.
	const probe = await googleProbe;
	assert.equal(probe.status(), 200, 'GET /api/auth/google without Google');
	assert.deepEqual(await probe.json(), { enabled: false });
	await page.getByRole('button', { name: 'Sign in' }).waitFor();
	assert.equal(await page.getByTestId('google-signin').count(), 0, 'no Google button without Google configured');
	assert.deepEqual(consoleErrors, [], 'the sign-in page logs no error');
	await page.getByRole('button', { name: 'Create an account' }).click();
	const email = `marketer-${Date.now()}@example.com`;
	await page.getByLabel('Name').fill('Mia Marketer');
	await page.getByLabel('Email').fill(email);
	await page.getByLabel('Password').fill('correct horse battery');
	await page.getByRole('button', { name: 'Create account' }).click();
	await page.waitForURL('**/apps');
	await page.getByText('No apps yet').waitFor();
	const token = await tokenHidden(page);
	step(`registered ${email}; the session is in an HttpOnly cookie only`);

	// Create an app and read its keys off the page.
	await page.getByRole('link', { name: 'Create your first app' }).click();
	await page.getByLabel('Name').fill('Space Runner');
	await page.getByLabel('Platform').selectOption('android');
	await page.getByLabel('Bundle ID').fill('com.example.spacerunner');
	await page.getByLabel('Google Play URL').fill('https://play.google.com/store/apps/details?id=com.example.spacerunner');
	await page.getByLabel('App Store URL').fill('https://apps.apple.com/app/id1234567890');
	await page.getByRole('button', { name: 'Create app' }).click();
	await page.getByText('Copy the server key now.').waitFor();
	const appID = await page.getByTestId('app-id').getAttribute('data-value');
	const sdkKey = await page.getByTestId('sdk-key').getAttribute('data-value');
	const serverKey = await page.getByTestId('server-key').getAttribute('data-value');
	assert.ok(appID && sdkKey && serverKey, 'the page shows the app id, SDK key and server key');
	assert.notEqual(sdkKey, serverKey);
	// The snippets send to the ingestion URL the server gave with the app (its listener is on
	// a port of its own here: a guess of :8080 would be wrong).
	assert.equal(await page.getByLabel('Ingestion URL').inputValue(), ingestURL, 'the snippet\'s ingestion URL');
	assert.match(await page.locator('pre code').textContent(), new RegExp(ingestURL.replace(/[.]/g, '\\.') + '/v1/'));
	await shot(page, 'app-created-1280');
	step(`created app ${appID}`);

	// Settings: a number outside its hint's range is refused under its field before anything
	// is sent; a store URL the server refuses shows its message under that field, in the
	// form's words; then allow installs right after their click (min CTIT 0), as this test
	// sends them.
	await page.goto(`${apiURL}/apps/${appID}/settings`);
	const patches = [];
	page.on('request', (r) => r.method() === 'PATCH' && patches.push(r.url()));
	const lookback = page.getByLabel('Click lookback');
	assert.deepEqual(
		[await lookback.getAttribute('min'), await lookback.getAttribute('max'), await lookback.getAttribute('step')],
		['1', '30', '1'],
		'the input takes the range its hint gives'
	);
	assert.equal(await page.getByLabel('Rate limit').getAttribute('max'), '10000000');
	await lookback.fill('99');
	await page.getByRole('button', { name: 'Save changes' }).click();
	const lookbackError = page.locator('#click_lookback_days-error');
	await lookbackError.waitFor();
	assert.equal(await lookbackError.textContent(), 'Click lookback must be a whole number from 1 to 30.');
	assert.equal(await lookback.getAttribute('aria-describedby'), 'click_lookback_days-error');
	assert.equal(await lookback.getAttribute('aria-invalid'), 'true');
	assert.ok(await lookback.evaluate((e) => e === document.activeElement), 'the refused field has the focus');
	assert.deepEqual(patches, [], 'an out-of-range number is not sent');
	await lookback.fill('7');
	const googlePlay = page.getByLabel('Google Play URL');
	const playURL = await googlePlay.inputValue();
	await googlePlay.fill('play.google.com/store');
	await page.getByRole('button', { name: 'Save changes' }).click();
	const playError = page.locator('#android-error');
	await playError.waitFor();
	assert.match(await playError.textContent(), /^Google Play URL must be an absolute URL/, 'the server\'s message, with the label');
	assert.equal(await lookbackError.count(), 0, 'the fixed field shows no error');
	assert.equal(await page.locator('[data-testid="field-error"]').count(), 1);
	assert.equal(await page.getByRole('alert').filter({ hasText: 'android_url' }).count(), 0, 'no message names the API field');
	assert.equal(patches.length, 1);
	await shot(page, 'settings-field-error-1280');
	await page.setViewportSize({ width: 390, height: 844 });
	await playError.scrollIntoViewIfNeeded();
	const [fieldBox, errorBox] = [await googlePlay.boundingBox(), await playError.boundingBox()];
	assert.ok(errorBox.y >= fieldBox.y + fieldBox.height && errorBox.y - (fieldBox.y + fieldBox.height) < 40, 'the error sits right under its field on a phone');
	await shot(page, 'settings-field-error-390');
	await page.setViewportSize({ width: 1280, height: 900 });
	await googlePlay.fill(playURL);
	await page.getByLabel('Minimum click-to-install time').fill('0');
	await page.getByRole('button', { name: 'Save changes' }).click();
	await page.getByText('Settings saved.').waitFor();
	// The time zone: a name the server does not know is refused under its field. (The
	// app stays in UTC until the LTV step, so that the custom range's dates, the browser's,
	// are the app's.)
	const zone = page.getByLabel('Time zone');
	assert.equal(await zone.inputValue(), 'UTC', 'the default zone');
	await zone.fill('Asia/Nowhere');
	await page.getByRole('button', { name: 'Save changes' }).click();
	const zoneError = page.locator('#timezone-error');
	await zoneError.waitFor();
	assert.match(await zoneError.textContent(), /^Time zone must be an IANA time zone name/);
	await zone.fill('UTC');
	await page.getByRole('button', { name: 'Save changes' }).click();
	await page.getByText('Settings saved.').waitFor();
	assert.equal(await zoneError.count(), 0, 'the fixed zone shows no error');
	step('settings saved');

	// A tracking link.
	await page.getByRole('link', { name: 'Tracking links' }).first().click();
	await page.getByText('No tracking links yet').waitFor();
	await page.getByLabel('Media source').fill('facebook_ads');
	await page.getByLabel('Campaign').fill('summer_sale');
	await page.getByLabel('Deep link value').fill('promo/summer');
	await page.getByRole('button', { name: 'Create link' }).click();
	await page.getByTestId('created-link').waitFor();
	const clickURL = await page.getByTestId('link-row').first().getByTestId('click-url').textContent();
	assert.match(clickURL ?? '', /\/c\/[^/]+$/, 'the link row shows its click URL');
	step(`created link ${clickURL}`);

	// A second link: edited (a campaign, its own click window), its QR code shown and
	// downloaded at 1280 and 390 px, then deleted, after which its click URL answers 404.
	await page.getByRole('button', { name: 'New link' }).click();
	await page.getByLabel('Media source').fill('newsletter');
	await page.getByLabel('Campaign').fill('may');
	await page.getByRole('button', { name: 'Create link' }).click();
	await page.getByTestId('created-link').filter({ hasText: 'newsletter' }).waitFor();
	const mailRow = page.getByTestId('link-row').filter({ hasText: 'newsletter' });
	const mailClickURL = await mailRow.getByTestId('click-url').textContent();
	await mailRow.getByTestId('edit-link').click();
	await page.getByRole('heading', { name: 'Edit tracking link' }).waitFor();
	assert.equal(await page.getByLabel('Campaign').inputValue(), 'may', 'the edit form holds the link');
	await page.getByLabel('Campaign').fill('june');
	await page.getByLabel('Click lookback (days)').fill('30');
	await page.getByRole('button', { name: 'Save changes' }).click();
	await mailRow.getByText('june').waitFor();
	await mailRow.getByTestId('link-windows').filter({ hasText: '30 d clicks' }).waitFor();
	assert.equal(await page.getByTestId('link-form').count(), 0, 'the form closes once saved');
	await mailRow.getByTestId('show-qr').click();
	const qrImage = mailRow.getByTestId('qr-image');
	await qrImage.waitFor();
	await page.waitForFunction((img) => img.complete && img.naturalWidth > 0, await qrImage.elementHandle());
	const [pngDownload] = await Promise.all([page.waitForEvent('download'), mailRow.getByTestId('download-png').click()]);
	const mailID = await mailRow.getAttribute('data-link-id');
	assert.equal(pngDownload.suggestedFilename(), `${mailID}.png`);
	const png = await page.evaluate(async (u) => {
		const r = await fetch(u);
		const b = new Uint8Array(await r.arrayBuffer());
		return { status: r.status, type: r.headers.get('Content-Type'), magic: Array.from(b.slice(1, 4)) };
	}, await mailRow.getByTestId('download-png').getAttribute('href'));
	assert.deepEqual(png, { status: 200, type: 'image/png', magic: [0x50, 0x4e, 0x47] }, 'the PNG download is a PNG');
	await shot(page, 'links-qr-1280');
	await page.setViewportSize({ width: 390, height: 844 });
	await mailRow.scrollIntoViewIfNeeded();
	await shot(page, 'links-qr-390');
	await noSidewaysScroll(page, 'the links page at 390 px');
	await mailRow.getByTestId('edit-link').click();
	await page.getByRole('heading', { name: 'Edit tracking link' }).waitFor();
	await shot(page, 'links-edit-390');
	await page.getByTestId('link-form').getByRole('button', { name: 'Cancel' }).click();
	await page.setViewportSize({ width: 1280, height: 900 });
	page.once('dialog', (d) => d.accept());
	await mailRow.getByTestId('delete-link').click();
	await mailRow.waitFor({ state: 'detached' });
	const gone = await fetch(mailClickURL ?? '', { redirect: 'manual' });
	assert.equal(gone.status, 404, 'a deleted link answers 404');
	assert.equal(await page.getByTestId('link-row').count(), 1);
	step('link edited, QR code shown and downloaded, link deleted');

	// The overview, live, before anything was sent.
	await page.getByRole('link', { name: 'Overview' }).first().click();
	await settled(page);
	assert.equal(await kpi(page, 'kpi-installs'), 0);
	await page.getByTestId('live-toggle').filter({ hasText: 'Live' }).waitFor();
	await page.getByTestId('chart-installs').locator('[data-empty]').waitFor();
	await shot(page, 'overview-empty-1280');

	// Traffic: a click on the link from an Android phone and the install it caused, a click
	// whose install had begun before it (click injection: refused), organic installs,
	// sessions and purchases.
	const paid = await click(clickURL);
	const injected = await click(clickURL);
	const app = { 'X-App-Key': sdkKey };
	await ingest('/v1/events', app, {
		event_type: 'install',
		device_id: 'paid-device-1',
		platform: 'android',
		os_version: '14',
		install_referrer: paid.referrer
	});
	await ingest('/v1/events', app, {
		event_type: 'install',
		device_id: 'injected-device-1',
		platform: 'android',
		os_version: '14',
		install_referrer: injected.referrer,
		install_begin_ts: Math.floor(injected.at / 1000) - 60
	});
	await ingest('/v1/events/batch', app, {
		events: [
			{ event_type: 'install', device_id: 'organic-1', platform: 'android', os_version: '13' },
			{ event_type: 'install', device_id: 'organic-2', platform: 'ios', os_version: '17.4' },
			{ event_type: 'install', device_id: 'organic-3', platform: 'ios', os_version: '17.1' }
		]
	});
	await ingest('/v1/events/batch', app, {
		events: ['paid-device-1', 'organic-1', 'organic-2', 'organic-2'].map((d) => ({
			event_type: 'session',
			device_id: d
		}))
	});
	// A purchase reported by the advertiser's server, and one by the SDK.
	await ingest('/v1/events', { 'X-Api-Key': serverKey }, {
		event_type: 'purchase',
		device_id: 'paid-device-1',
		revenue: 1234.5,
		currency: 'USD'
	});
	await ingest('/v1/events', app, { event_type: 'purchase', device_id: 'organic-2', revenue: 19.99, currency: 'USD' });
	step('sent 2 clicks, 5 installs, 4 sessions and 2 purchases');

	// The live overview picks them up without a reload.
	await waitKPI(page, 'kpi-installs', 4);
	await waitKPI(page, 'kpi-non-organic', 1);
	await waitKPI(page, 'kpi-organic', 3);
	await waitKPI(page, 'kpi-clicks', 2);
	await waitKPI(page, 'kpi-rejected', 1);
	await waitKPI(page, 'kpi-sessions', 4);
	await page.getByTestId('kpi-revenue-value').filter({ hasText: '$1,254.49' }).waitFor({ timeout: SETTLE_MS });
	assert.match(await page.getByTestId('kpi-revenue').textContent(), /USD · UTC/, 'the revenue says its currency and zone');
	assert.equal(await page.getByTestId('kpi-installs-value').textContent(), '4', 'the rejected install is not an install');
	// The installs chart draws its bars: filled paths beyond the two legend marks.
	await page.waitForFunction(
		() => document.querySelectorAll('[data-testid="chart-installs"] svg path:not([fill="none"])').length > 2,
		null,
		{ timeout: SETTLE_MS }
	);
	await page.getByTestId('chart-media-sources').getByText('facebook_ads').first().waitFor();
	// A chart's tooltip (HTML that ECharts writes at run time) shows under the policy.
	await page.getByTestId('chart-installs').locator('svg').hover();
	const marker = page.getByTestId('chart-installs').locator('span', { hasText: 'Non-organic' }).locator('xpath=preceding-sibling::span[1]');
	await marker.waitFor();
	assert.equal(await marker.evaluate((e) => getComputedStyle(e).width), '10px', "the tooltip's inline styles apply");
	step('overview shows the events');

	// The date range: today (hourly charts) and a custom range of days hold the same installs.
	await page.getByRole('button', { name: 'Today', exact: true }).click();
	await page.getByText('Organic and non-organic, per hour').waitFor();
	await waitKPI(page, 'kpi-installs', 4);
	await page.getByRole('button', { name: 'Custom', exact: true }).click();
	await page.getByLabel('From').waitFor();
	await page.getByText('Organic and non-organic, per day').waitFor();
	await waitKPI(page, 'kpi-installs', 4);
	await page.getByRole('button', { name: '7 days', exact: true }).click();
	await waitKPI(page, 'kpi-installs', 4);

	// Pausing stops the refresh.
	await page.getByTestId('live-toggle').click();
	await page.getByTestId('live-toggle').filter({ hasText: 'Paused' }).waitFor();
	await page.getByTestId('live-toggle').click();
	await page.getByTestId('live-toggle').filter({ hasText: 'Live' }).waitFor();

	// Reports: a row for organic and one for the link's media source, which expands into
	// its campaign.
	await page.getByRole('link', { name: 'Reports' }).first().click();
	const sources = page.getByTestId('report-breakdown');
	await sources.locator('[data-source="organic"]').waitFor({ timeout: SETTLE_MS });
	await sources.locator('[data-source="facebook_ads"]').waitFor({ timeout: SETTLE_MS });
	const fb = sources.locator('[data-source="facebook_ads"]');
	assert.match((await fb.textContent()) ?? '', /\$1,234\.50/);
	await fb.getByTestId('expand').click();
	await sources.locator('[data-dim="campaign"][data-value="summer_sale"]').waitFor();
	await page.getByTestId('report-fraud').getByText('Click injection').waitFor({ timeout: SETTLE_MS });
	await page.getByTestId('cohort-row').first().waitFor({ timeout: SETTLE_MS });
	const retention = page.getByTestId('report-retention');
	assert.equal(await retention.locator('thead th').count(), 2 + 6, 'key days: 0, 1, 3, 7, 14, 30');
	await retention.getByRole('button', { name: 'All days' }).click();
	assert.equal(await retention.locator('thead th').count(), 2 + 31, 'all days: 0 to 30');
	// Today's cohort: day 0 is under way, shown as such rather than as a percentage.
	const day0 = retention.getByTestId('cohort-row').last().locator('td').nth(2).locator('div');
	assert.equal(await day0.textContent().then((t) => t?.trim()), '·');
	assert.equal(await day0.getAttribute('title'), 'Day 0 has not ended yet');
	await retention.getByRole('button', { name: 'Key days' }).click();
	// Sorting by a column orders its rows.
	await sources.getByRole('button', { name: 'Media source' }).click();
	await page.waitForURL(/sort=media_source/);
	// The server sorts: the rows come back in order.
	await page.waitForFunction(() => {
		const order = [...document.querySelectorAll('[data-testid="breakdown-row"][data-depth="0"]')].map((r) => r.getAttribute('data-source'));
		return order.length >= 2 && order.join() === [...order].sort().join();
	}, null, { timeout: SETTLE_MS });
	await sources.getByRole('button', { name: 'Installs' }).click();
	step('reports show the rows');

	// Export: the reports page's menu downloads the range's events as CSV (11: 5 installs,
	// 4 sessions, 2 purchases) and NDJSON, at 1280 px and at 390 px.
	for (const [width, height] of [
		[1280, 900],
		[390, 844]
	]) {
		await page.setViewportSize({ width, height });
		await page.getByTestId('export-menu').locator('summary').click();
		const csv = await download(page, 'export-events-csv');
		const lines = csv.trimEnd().split('\n');
		assert.match(lines[0], /^event_id,event_type,timestamp,received_at,device_id,/, 'the CSV header');
		assert.equal(lines.length, 1 + 11, `events CSV at ${width} px: ${csv}`);
		assert.ok(lines.some((l) => l.includes(',purchase,') && l.includes('summer_sale')), 'a purchase of the campaign');
		await shot(page, `reports-export-${width}`);
		const menu = await page.getByTestId('export-menu').locator('ul').boundingBox();
		assert.ok(menu && menu.x >= 0 && menu.x + menu.width <= width, `the export menu at ${width} px lies outside the page: ${JSON.stringify(menu)}`);
		const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
		assert.ok(overflow <= 0, `the reports page with its export menu open scrolls sideways by ${overflow} px at ${width} px`);
		const ndjson = await download(page, 'export-installs-ndjson');
		const installs = ndjson.trimEnd().split('\n').map((l) => JSON.parse(l));
		assert.equal(installs.length, 5, `installs NDJSON: ${ndjson}`);
		await page.getByTestId('export-menu').locator('summary').click();
	}
	await page.setViewportSize({ width: 1280, height: 900 });
	step('reports export CSV and NDJSON at 1280 and 390 px');

	// Installs: the paid one matched by referrer, the injected one with its rejected click.
	await page.getByRole('link', { name: 'Installs' }).first().click();
	const paidRow = page.locator('[data-testid="install-row"][data-device="paid-device-1"]');
	await paidRow.waitFor();
	assert.match((await paidRow.textContent()) ?? '', /Install referrer/);
	assert.match((await paidRow.textContent()) ?? '', /facebook_ads/);
	const injectedRow = page.locator('[data-testid="install-row"][data-device="injected-device-1"]');
	assert.match((await injectedRow.textContent()) ?? '', /Click injection/);
	assert.equal(await page.getByTestId('install-row').count(), 5);
	// The rejected install is its own bucket, its rejected touchpoints grouped and expandable:
	// both clicks came from the phone after the install had begun.
	assert.equal((await injectedRow.getByTestId('match-type').textContent())?.trim(), 'Rejected');
	const group = injectedRow.getByTestId('rejected-group');
	assert.match((await group.locator('summary').textContent())?.replace(/\s+/g, ' ') ?? '', /2 × Click injection, facebook_ads/);
	await group.locator('summary').click();
	await group.locator('details[open] li').nth(1).waitFor();
	step('installs list shows the decisions, rejected touchpoints grouped');
	// Explain: every candidate of the install with its outcome, at 1280 and 390 px.
	for (const [width, height] of [
		[1280, 900],
		[390, 844]
	]) {
		await page.setViewportSize({ width, height });
		await injectedRow.getByTestId('explain').click();
		const ex = page.getByTestId('explanation');
		await ex.getByTestId('candidate').first().waitFor({ timeout: SETTLE_MS });
		assert.match((await ex.textContent()) ?? '', /rejected\s*Click injection/);
		assert.match((await ex.textContent()) ?? '', /Install referrer/);
		await shot(page, `installs-explain-${width}`);
		const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
		assert.ok(overflow <= 0, `the installs page with an explanation open scrolls sideways by ${overflow} px at ${width} px`);
		await injectedRow.getByTestId('explain').click();
		await ex.waitFor({ state: 'detached' });
	}
	await page.setViewportSize({ width: 1280, height: 900 });
	step('installs page explains a decision at 1280 and 390 px');
	await page.getByTestId('export-menu').locator('summary').click();
	const installsCSV = await download(page, 'export-installs-csv');
	assert.equal(installsCSV.trimEnd().split('\n').length, 1 + 5, `installs CSV: ${installsCSV}`);
	assert.match(installsCSV, /injected-device-1/);
	await page.getByTestId('export-menu').locator('summary').click();
	step('installs page exports its installs');

	// Re-engagement: a device installed 20 days ago (dormant: inactivity_days is 7) comes back
	// through retarget_net's click; the list shows that decision as a re-engagement beside
	// the device's first install, and its explanation says what it is.
	const past = Math.floor(Date.now() / 1000) - 20 * 86400;
	const dormantGAID = '38400000-8cf0-11bd-b23e-10b96e40000d';
	await ingest('/v1/events/batch', { 'X-Api-Key': serverKey }, {
		events: [
			{ event_type: 'install', device_id: 'dormant-1', gaid: dormantGAID, platform: 'android', timestamp: past },
			{ event_type: 'session', device_id: 'dormant-1', gaid: dormantGAID, timestamp: past + 3600 }
		]
	});
	await ingest('/v1/touchpoints', { 'X-Api-Key': serverKey }, {
		touchpoints: [{ type: 'click', media_source: 'retarget_net', campaign: 'winback', gaid: dormantGAID, timestamp: Math.floor(Date.now() / 1000) - 600 }]
	});
	await ingest('/v1/events', { 'X-Api-Key': serverKey }, { event_type: 'session', device_id: 'dormant-1', gaid: dormantGAID });
	const reengaged = page.locator('[data-testid="install-row"][data-device="dormant-1"]').filter({ has: page.locator('[data-kind="reengagement"]') });
	for (const end = Date.now() + SETTLE_MS; (await page.locator('[data-testid="install-row"][data-device="dormant-1"]').count()) < 2; ) {
		assert.ok(Date.now() < end, 'the re-engagement did not show in the installs list');
		await page.waitForTimeout(1000);
		await page.getByRole('button', { name: 'Refresh' }).first().click();
	}
	assert.equal((await reengaged.getByTestId('reattribution-kind').textContent())?.trim(), 'Re-engagement');
	assert.match((await reengaged.textContent()) ?? '', /retarget_net/);
	const firstInstall = page.locator('[data-testid="install-row"][data-device="dormant-1"]').filter({ hasNot: page.locator('[data-kind]') });
	assert.match((await firstInstall.textContent()) ?? '', /Organic/, "the device's first install keeps its own row");
	await reengaged.getByTestId('explain').click();
	await page.getByTestId('explain-reengagement').waitFor({ timeout: SETTLE_MS });
	assert.match((await page.getByTestId('explain-reengagement').textContent()) ?? '', /re-engagement.*inactive.*retarget_net/s);
	await shot(page, 'installs-reengagement-1280');
	await reengaged.getByTestId('explain').click();
	step('installs page shows a re-engagement as such, and explains it');

	// Postbacks: an unknown macro is refused under its field; the live preview shows the
	// sample campaign escaped; a test postback reaches a receiver on loopback, signed; the
	// delivery log renders.
	const receiver = await startReceiver();
	const pbSecret = 'e2e-postback-secret';
	await page.getByRole('link', { name: 'Postbacks' }).first().click();
	await page.getByText('No postbacks yet').waitFor();
	const pbForm = page.getByTestId('postback-form');
	await pbForm.getByLabel('Name').fill('Facebook installs');
	await pbForm.getByLabel('Media source').fill('facebook_ads');
	await pbForm.getByLabel('URL template').fill(`${receiver.url}/pb?c={campain}`);
	await page.getByTestId('preview-error').filter({ hasText: 'url_template: unknown macro {campain}' }).waitFor();
	await pbForm.getByLabel('Signing secret').fill(pbSecret);
	await page.getByRole('button', { name: 'Create postback' }).click();
	await pbForm.getByTestId('field-error').filter({ hasText: 'URL template: unknown macro {campain}' }).waitFor();
	assert.equal(await pbForm.getByLabel('URL template').getAttribute('aria-invalid'), 'true');
	await pbForm.getByLabel('URL template').fill(`${receiver.url}/pb?c={campaign}&clk={click_id}`);
	await page.getByTestId('preview-url').filter({ hasText: `${receiver.url}/pb?c=a%20b%26c&clk=sample-click-id` }).waitFor();
	await shot(page, 'postback-form-1280');
	await page.getByRole('button', { name: 'Create postback' }).click();
	const pbRow = page.getByTestId('postback-row').first();
	await pbRow.getByText('Facebook installs').waitFor();
	assert.equal(await page.getByTestId('postback-form').count(), 0, 'the form closes once the postback is created');
	assert.match((await pbRow.textContent()) ?? '', /Enabled/);
	assert.match((await pbRow.textContent()) ?? '', /Signed/);
	assert.ok(!((await page.content()).includes(pbSecret)), 'the page never shows the secret');
	await sendTestPostback(page, receiver, pbSecret);
	await pbRow.getByTestId('show-deliveries').click();
	const deliveriesList = page.getByTestId('deliveries-list');
	await deliveriesList.getByText('Deliveries of Facebook installs').waitFor();
	await settled(page);
	assert.ok((await deliveriesList.getByTestId('delivery-row').count()) > 0 || (await deliveriesList.getByText('No deliveries').count()) === 1, 'the delivery log shows rows or says there are none');
	await deliveriesList.getByTestId('delivery-status-filter').selectOption('failed');
	await settled(page);
	await shot(page, 'postback-log-1280');
	// Disable it, then edit its name: the secret stays.
	await pbRow.getByTestId('toggle-postback').click();
	await pbRow.getByTestId('postback-state').filter({ hasText: 'Disabled' }).waitFor();
	await pbRow.getByTestId('edit-postback').click();
	await pbForm.getByLabel('Name').fill('Facebook (all installs)');
	await page.getByTestId('preview-url').filter({ hasText: 'c=a%20b%26c' }).waitFor();
	await page.getByRole('button', { name: 'Save postback' }).click();
	await pbRow.getByText('Facebook (all installs)').waitFor();
	assert.match((await pbRow.textContent()) ?? '', /Signed/);
	step('postback created, previewed, tested against a receiver on loopback, disabled and renamed');

	// The same at a phone's width: the preview while editing, a test, the delivery log.
	await page.setViewportSize({ width: 390, height: 844 });
	await page.goto(`${apiURL}/apps/${appID}/postbacks`);
	await page.getByTestId('postback-row').first().waitFor();
	await page.getByTestId('postback-row').first().getByTestId('edit-postback').click();
	await page.getByTestId('preview-url').filter({ hasText: 'c=a%20b%26c' }).waitFor();
	await page.getByTestId('postback-form').getByRole('button', { name: 'Cancel' }).click();
	await sendTestPostback(page, receiver, pbSecret);
	await page.getByTestId('postback-row').first().getByTestId('show-deliveries').click();
	await page.getByTestId('deliveries-list').getByText('Deliveries of').waitFor();
	await settled(page);
	await shot(page, 'postbacks-test-390');
	await noSidewaysScroll(page, 'the postbacks page at 390 px');
	await page.setViewportSize({ width: 1280, height: 900 });
	receiver.close();
	step('postbacks page works at 390 px');

	// Cost: a file with a bad line is previewed up to it, and the server refuses it naming
	// the line and column; a good one is stored and shows in the media sources report.
	const today = new Date().toISOString().slice(0, 10);
	const costHead = 'date,media_source,campaign,cost,currency,clicks\n';
	const badCost = `${costHead}${today},facebook_ads,summer_sale,10,USD,5\n${today},tiktok_int,launch,lots,USD,1\n`;
	const goodCost = `${costHead}${today},facebook_ads,summer_sale,10,USD,5\n${today},tiktok_int,launch,2.5,EUR,1\n`;
	const costFile = (name, text) => ({ name, mimeType: 'text/csv', buffer: Buffer.from(text) });
	await page.getByRole('link', { name: 'Cost' }).first().click();
	await page.getByText('No cost imported yet').waitFor();
	await page.getByTestId('cost-file').setInputFiles(costFile('bad.csv', badCost));
	await page.getByTestId('cost-parse-error').filter({ hasText: 'Line 3, column cost' }).waitFor();
	assert.equal(await page.getByTestId('cost-preview-row').count(), 1, 'the preview shows the rows before the bad line');
	await page.getByTestId('cost-upload-button').click();
	await page.getByTestId('cost-server-error').filter({ hasText: 'Line 3, column cost: cost must be a number.' }).waitFor();
	await shot(page, 'cost-error-1280');
	await page.getByTestId('cost-file').setInputFiles(costFile('good.csv', goodCost));
	await page.getByTestId('cost-preview-row').nth(1).waitFor();
	assert.equal(await page.getByTestId('cost-parse-error').count(), 0);
	assert.equal(await page.getByTestId('cost-server-error').count(), 0, 'a new file clears the old refusal');
	await page.getByTestId('cost-upload-button').click();
	await page.getByTestId('cost-stored').filter({ hasText: 'Stored 2 rows' }).waitFor();
	await page.getByTestId('cost-row').nth(1).waitFor(); // the list reloads after the message
	assert.equal(await page.getByTestId('cost-row').count(), 2);
	await shot(page, 'cost-stored-1280');
	await page.getByRole('link', { name: 'Reports' }).first().click();
	const fbCost = page.getByTestId('report-breakdown').locator('[data-source="facebook_ads"]');
	await fbCost.getByTestId('cost').filter({ hasText: '$10.00' }).waitFor({ timeout: SETTLE_MS });
	assert.notEqual((await fbCost.getByTestId('ecpi').textContent())?.trim(), '—', 'facebook_ads has installs: an eCPI');
	assert.match((await fbCost.getByTestId('roas').textContent()) ?? '', /%/);
	// The EUR row has no rate to USD: left out, and said so.
	await page.getByTestId('cost-note').filter({ hasText: 'have no exchange rate' }).waitFor();
	await page.setViewportSize({ width: 390, height: 844 });
	await page.goto(`${apiURL}/apps/${appID}/cost`);
	await page.getByTestId('cost-row').first().waitFor();
	await page.getByTestId('cost-file').setInputFiles(costFile('good.csv', goodCost));
	await page.getByTestId('cost-preview-row').nth(1).waitFor();
	await settled(page);
	await shot(page, 'cost-preview-390');
	await noSidewaysScroll(page, 'the cost page at 390 px');
	await page.setViewportSize({ width: 1280, height: 900 });
	step('cost file previewed, refused naming its line, stored, and in the media sources report; at 390 px too');
	// LTV: an organic install three days ago that paid 10 USD the same day and 5 EUR the
	// next (no EUR rate loaded: left out, and said so, with the 2.50 EUR of cost imported
	// above).
	const ago = (h) => Math.floor(Date.now() / 1000) - h * 3600;
	const srv = { 'X-Api-Key': serverKey };
	await ingest('/v1/events', srv, { event_type: 'install', device_id: 'ltv-1', platform: 'ios', timestamp: ago(72) });
	await ingest('/v1/events', srv, { event_type: 'purchase', device_id: 'ltv-1', revenue: 10, currency: 'USD', timestamp: ago(71) });
	await ingest('/v1/events', srv, { event_type: 'purchase', device_id: 'ltv-1', revenue: 5, currency: 'EUR', timestamp: ago(48) });
	await page.goto(`${apiURL}/apps/${appID}/settings`);
	await page.getByLabel('Time zone').fill('Asia/Tokyo');
	await page.getByRole('button', { name: 'Save changes' }).click();
	await page.getByText('Settings saved.').waitFor();
	await page.getByRole('link', { name: 'LTV & ROAS' }).first().click();
	const ltvRows = page.getByTestId('ltv-row');
	await page.getByTestId('ltv-scope').filter({ hasText: 'Asia/Tokyo · 2 amounts without an exchange rate left out' }).waitFor({ timeout: SETTLE_MS });
	assert.match(await page.getByTestId('ltv-scope').textContent(), /In USD, days of Asia\/Tokyo/);
	const old = ltvRows.filter({ hasText: '$10.00' }).first();
	await old.waitFor({ timeout: SETTLE_MS });
	assert.equal(await old.getAttribute('data-source'), 'organic');
	assert.ok((await ltvRows.filter({ has: page.locator('[title="Day 0 has not ended yet"]') }).count()) >= 1, "today's cohorts show day 0 under way");
	await page.waitForFunction(() => document.querySelectorAll('[data-testid="chart-ltv"] svg path').length > 2, null, { timeout: SETTLE_MS });
	await page.getByRole('button', { name: 'Campaign', exact: true }).click();
	await ltvRows.filter({ hasText: 'summer_sale' }).first().waitFor({ timeout: SETTLE_MS });
	await page.getByRole('button', { name: 'Media source', exact: true }).click();
	await shot(page, 'ltv-grouped-1280');
	await page.setViewportSize({ width: 390, height: 844 });
	await settled(page);
	await noSidewaysScroll(page, 'the LTV page at 390 px');
	await page.setViewportSize({ width: 1280, height: 900 });
	step('LTV page shows the cohorts, the curve and the unconverted amount');

	// Exports: the server names the field it refuses; an export to a destination that
	// refuses connections (port 9 on loopback) shows its failed runs with the error; at 390
	// px too; then it is deleted.
	await page.goto(`${apiURL}/apps/${appID}/exports`);
	await page.getByText('No export yet').waitFor();
	const exportForm = page.getByTestId('export-form');
	await exportForm.getByLabel('Endpoint').fill('ftp://storage.example');
	await exportForm.getByLabel('Bucket').fill('raw-data');
	await exportForm.getByLabel('Access key id').fill('AKIDEXAMPLE');
	await exportForm.getByLabel('Secret access key').fill('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
	await exportForm.getByLabel('Format').selectOption('csv.gz');
	await page.getByTestId('export-create').click();
	await exportForm.getByTestId('field-error').filter({ hasText: 'Endpoint must be an http or https URL' }).waitFor();
	await shot(page, 'exports-field-error-1280');
	await exportForm.getByLabel('Endpoint').fill('http://127.0.0.1:9');
	await page.getByTestId('export-path-style').check();
	const yesterday = new Date(Date.now() - 86400000).toISOString().slice(0, 10);
	await page.getByTestId('export-start').fill(yesterday);
	await page.getByTestId('export-create').click();
	await page.getByTestId('export-created').waitFor();
	assert.equal(await page.getByLabel('Secret access key').inputValue(), '', 'the form forgets the secret once sent');
	const exportItem = page.getByTestId('export-item').first();
	await exportItem.getByText('127.0.0.1:9/raw-data/').waitFor();
	assert.doesNotMatch((await exportItem.textContent()) ?? '', /wJalr/, 'the secret key is never shown');
	const failedRun = exportItem.getByTestId('export-run').filter({ has: page.getByTestId('export-run-status').filter({ hasText: 'failed' }) });
	await failedRun.first().waitFor({ timeout: 30000 });
	assert.match((await failedRun.first().getByTestId('export-run-error').textContent()) ?? '', /connection refused|connect/);
	await settled(page);
	await shot(page, 'exports-runs-1280');
	await page.setViewportSize({ width: 390, height: 844 });
	await page.goto(`${apiURL}/apps/${appID}/exports`);
	await page.getByTestId('export-item').first().getByTestId('export-runs-toggle').click();
	await page.getByTestId('export-run').first().waitFor();
	await settled(page);
	await shot(page, 'exports-runs-390');
	await noSidewaysScroll(page, 'the exports page at 390 px');
	await page.setViewportSize({ width: 1280, height: 900 });
	page.once('dialog', (d) => d.accept());
	await page.getByTestId('export-item').first().getByTestId('export-delete').click();
	await page.getByText('No export yet').waitFor();
	step('export refused naming its field, created, its failed runs shown with the error, at 390 px too, and deleted');

	// Screenshots of each page at desktop and phone widths.
	const pages = [
		['apps', '/apps'],
		['overview', `/apps/${appID}`],
		['reports', `/apps/${appID}/reports`],
		['ltv', `/apps/${appID}/ltv`],
		['links', `/apps/${appID}/links`],
		['installs', `/apps/${appID}/installs`],
		['postbacks', `/apps/${appID}/postbacks`],
		['cost', `/apps/${appID}/cost`],
		['exports', `/apps/${appID}/exports`],
		['settings', `/apps/${appID}/settings`],
		['members', `/apps/${appID}/members`],
		['audit', `/apps/${appID}/audit`],
		['account', '/account']
	];
	for (const [width, height] of [
		[1280, 900],
		[390, 844]
	]) {
		await page.setViewportSize({ width, height });
		for (const [name, path] of pages) {
			await page.goto(apiURL + path);
			await settled(page);
			await page.waitForTimeout(600); // chart animations
			await shot(page, `${name}-${width}`);
		}
	}
	// The phone menu, open.
	await page.goto(`${apiURL}/apps/${appID}`);
	await settled(page);
	await page.getByRole('button', { name: 'Open menu' }).click();
	await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Reports' }).waitFor();
	await page.screenshot({ path: join(artifacts, 'menu-390.png') });
	await noSidewaysScroll(page, 'the phone layout');

	// Teams, with a second user in a browser of their own: the owner invites an unknown
	// email as a viewer on the members page and reads the link off it; the invitee opens
	// it signed out, signs up, comes back to it and accepts; as a viewer they see no control
	// they may not use; the owner makes them an editor, and the audit log shows it all.
	await page.setViewportSize({ width: 1280, height: 900 });
	await page.goto(`${apiURL}/apps/${appID}/members`);
	const guest = `analyst-${Date.now()}@example.com`;
	await page.getByLabel('Email').fill(guest);
	await page.getByLabel('Role', { exact: true }).selectOption('viewer');
	await page.getByRole('button', { name: 'Invite' }).click();
	const linkBox = page.getByTestId('invitation-link');
	await linkBox.waitFor();
	const inviteURL = (await linkBox.locator('code').textContent()).trim();
	assert.match(inviteURL, /\/invitations\/accept#uin_[A-Za-z0-9_-]{43}$/, `the invitation link ${inviteURL}`);
	await page.getByTestId('invitation').filter({ hasText: guest }).waitFor();
	await shot(page, 'members-invited-1280');
	step(`invited ${guest}`);

	const invitee = await openBrowser({ width: 390, height: 844 });
	try {
		const page2 = invitee.page;
		await page2.goto(inviteURL.replace(/^https?:\/\/[^/]+/, apiURL));
		await page2.waitForURL('**/login?return_to=*');
		await page2.getByRole('button', { name: 'Create an account' }).click();
		await page2.getByLabel('Name').fill('Ana Analyst');
		await page2.getByLabel('Email').fill(guest);
		await page2.getByLabel('Password').fill('correct horse battery');
		await page2.getByRole('button', { name: 'Create account' }).click();
		// Signing up from the invitation link redeems it: straight to the app.
		await page2.waitForURL(`**/apps/${appID}`);
		step('the invitee signed up with the invitation, which made them a member');
		await page2.goto(`${apiURL}/apps/${appID}/settings`);
		await page2.getByTestId('read-only-settings').waitFor();
		assert.equal(await page2.getByRole('button', { name: 'Save changes' }).count(), 0, 'a viewer has no Save button');
		assert.equal(await page2.getByRole('button', { name: 'Rotate server key' }).count(), 0, 'a viewer cannot rotate the key');
		assert.equal(await page2.getByRole('button', { name: 'Delete app' }).count(), 0, 'a viewer cannot delete the app');
		assert.ok(await page2.getByLabel('Name').isDisabled(), 'a viewer\'s settings are read-only');
		await shot(page2, 'settings-viewer-390');
		await page2.goto(`${apiURL}/apps/${appID}/links`);
		await page2.locator('h1', { hasText: 'Tracking links' }).waitFor();
		await settled(page2);
		assert.equal(await page2.getByRole('button', { name: 'New link' }).count(), 0, 'a viewer has no New link button');
		await page2.getByTestId('show-qr').first().waitFor();
		for (const id of ['edit-link', 'delete-link']) {
			assert.equal(await page2.getByTestId(id).count(), 0, `a viewer sees no ${id} on the links page`);
		}
		await page2.goto(`${apiURL}/apps/${appID}/cost`);
		await page2.getByTestId('cost-stored-table').waitFor();
		await settled(page2);
		assert.equal(await page2.getByTestId('cost-upload').count(), 0, 'a viewer cannot upload cost');
		await page2.goto(`${apiURL}/apps/${appID}/members`);
		await page2.getByTestId('member').filter({ hasText: guest }).waitFor();
		assert.equal(await page2.getByTestId('invite-form').count(), 0, 'a viewer cannot invite');
		await page2.getByRole('button', { name: 'Open menu' }).click();
		await page2.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Members' }).waitFor();
		assert.equal(await page2.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).count(), 0, 'a viewer has no audit log');
		await page2.getByRole('button', { name: 'Close menu' }).click();
		await shot(page2, 'members-viewer-390');
		await noSidewaysScroll(page2, 'the members page at 390 px');
		await page2.goto(`${apiURL}/apps/${appID}/postbacks`);
		await page2.getByTestId('show-deliveries').first().waitFor();
		for (const id of ['edit-postback', 'delete-postback', 'toggle-postback', 'send-test', 'postback-form']) {
			assert.equal(await page2.getByTestId(id).count(), 0, `a viewer sees no ${id} on the postbacks page`);
		}
		assert.equal(await page2.getByRole('button', { name: 'New postback' }).count(), 0, 'a viewer has no New postback button');
		await shot(page2, 'postbacks-viewer-390');
		step('a viewer sees the postbacks without their controls');

		// Two-factor sign-in at 390 px: enrol, turn on with a code computed from the key the
		// page shows, keep the recovery codes; then sign in again, which asks for a code.
		await page2.goto(`${apiURL}/account`);
		await page2.getByTestId('session').filter({ hasText: 'this session' }).waitFor();
		await page2.getByRole('button', { name: 'Set up two-factor sign-in' }).click();
		const enrol = page2.getByTestId('two-factor-enrol');
		await enrol.locator('img').waitFor();
		const secret = await enrol.locator('code').getAttribute('data-value');
		assert.match(secret, /^[A-Z2-7]{16,}$/, `the two-factor key ${secret}`);
		await page2.getByLabel('Code from the app').fill(totp(secret, Date.now()));
		await page2.getByRole('button', { name: 'Turn on' }).click();
		const codes = page2.getByTestId('recovery-codes');
		await codes.waitFor();
		assert.equal(await codes.locator('li').count(), 10, 'ten recovery codes are shown');
		await page2.getByText('On: signing in with your password also asks').waitFor();
		await shot(page2, 'account-two-factor-390');
		await noSidewaysScroll(page2, 'the account page at 390 px');
		await invitee.context.clearCookies();
		await page2.goto(`${apiURL}/login`);
		await page2.getByLabel('Email').fill(guest);
		await page2.getByLabel('Password').fill('correct horse battery');
		await page2.getByRole('button', { name: 'Sign in' }).click();
		await page2.getByLabel('Authentication code').waitFor();
		await shot(page2, 'login-code-390');
		await page2.getByLabel('Authentication code').fill(totp(secret, Date.now() + 30_000)); // the next step: the current one was used to turn it on
		await page2.getByRole('button', { name: 'Verify' }).click();
		await page2.waitForURL('**/apps');
		step('the invitee turned two-factor sign-in on and signed in with a code');
	} finally {
		await invitee.close();
	}

	await page.goto(`${apiURL}/apps/${appID}/members`);
	const row = page.getByTestId('member').filter({ hasText: guest });
	await row.locator('select').selectOption('editor');
	await page.getByText(`${guest}'s role changed.`).waitFor();
	await page.goto(`${apiURL}/apps/${appID}/audit`);
	for (const action of ['member.update', 'invitation.accept', 'invitation.create']) {
		await page.getByTestId('audit-entry').filter({ hasText: action }).first().waitFor();
	}
	assert.match(await page.getByTestId('audit-entry').first().textContent(), /role: viewer → editor/);
	await shot(page, 'audit-team-1280');
	await page.goto(`${apiURL}/account`);
	await page.getByLabel('Name').fill('weekly report');
	await page.getByRole('button', { name: 'Create token' }).click();
	await page.getByTestId('new-token').waitFor();
	await page.getByTestId('token').filter({ hasText: 'weekly report' }).waitFor();
	await page.getByTestId('session').filter({ hasText: 'this session' }).waitFor();
	await page.getByRole('button', { name: 'Set up two-factor sign-in' }).waitFor();
	await shot(page, 'account-token-1280');
	step('roles changed, the audit log shows them, a personal access token made');

	// Signed in by the cookie all along: no page kept the token where a script reads it.
	await tokenHidden(page, token);

	// The landing page of Google sign-in: an error is shown; with the session cookie the
	// callback set, the browser goes on to return_to.
	await page.setViewportSize({ width: 1280, height: 900 });
	await page.goto(`${apiURL}/auth/google#error=${encodeURIComponent('Google did not confirm your email.')}`);
	await page.getByRole('alert').filter({ hasText: 'Google did not confirm your email.' }).waitFor();
	await page.goto(`${apiURL}/auth/google#return_to=${encodeURIComponent(`/apps/${appID}/installs`)}`);
	await page.waitForURL(`**/apps/${appID}/installs`);
	await page.locator('[data-testid="install-row"]').first().waitFor();
	assert.ok(!page.url().includes('#'), 'the landing page leaves nothing in the URL');
	step('Google sign-in landing page goes on with the session cookie');

	// Sign out (a POST with the CSRF token): both cookies go, the session is revoked, and
	// the old cookie no longer works; then sign in again with the form.
	await page.getByRole('button', { name: 'Sign out' }).first().click();
	await page.waitForURL(/\/login(\?|$)/);
	const left = (await context.cookies(apiURL)).map((c) => c.name).filter((n) => n.startsWith('unmogrowp_'));
	assert.deepEqual(left, [], 'signing out deletes the session cookies');
	const revoked = await fetch(`${apiURL}/api/auth/me`, { headers: { Authorization: `Bearer ${token}` } });
	assert.equal(revoked.status, 401, 'signing out revokes the session');
	await page.goto(`${apiURL}/apps`);
	await page.waitForURL('**/login?return_to=*');
	await page.getByLabel('Email').fill(email);
	await page.getByLabel('Password').fill('correct horse battery');
	await page.getByRole('button', { name: 'Sign in' }).click();
	await page.waitForURL('**/apps');
	await page.locator(`a[href="/apps/${appID}"]`).filter({ hasText: 'Space Runner' }).waitFor();
	await tokenHidden(page);
	step('signed out and in again');

	// A 401 sends the user to the sign-in page: a session cookie the server does not know.
	await context.addCookies([{ name: 'unmogrowp_session', value: 'ut_revoked', url: apiURL, httpOnly: true, sameSite: 'Strict' }]);
	await page.goto(`${apiURL}/apps/${appID}/links`);
	await page.waitForURL('**/login?return_to=*');
	step('a bad session leads to the sign-in page');

	assert.deepEqual(cspViolations, [], 'the Content-Security-Policy was violated');
	// The only failed loads expected: the settings' 400 (the refused store URL) and the 401
	// above.
	assert.deepEqual(
		consoleErrors.filter((e) => !/Failed to load resource: .* (400|401)/.test(e)),
		[],
		'the browser console shows no errors'
	);
}, () => (cspViolations.length ? ['CSP violations:\n' + cspViolations.join('\n')] : []));
