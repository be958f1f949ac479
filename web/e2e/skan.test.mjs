// Browser test of the dashboard's SKAdNetwork page and SKAN settings against a running
// `unmogrowp serve`, in Debian's headless Chromium driven by playwright-core.
// cmd/unmogrowp/skan_dashboard_test.go starts the server and runs this; by hand:
//
//   UNMOGROWP_API_URL=http://127.0.0.1:3001 UNMOGROWP_INGEST_URL=http://127.0.0.1:8080 \
//     node e2e/skan.test.mjs
//
// It signs up an owner and a viewer through the API, makes an app, and in the browser:
// sets the app's App Store id in the settings (an id another app claims refused under its
// field with the server's 409), sends Apple's examples (skan/testdata/apple.json) to the
// ingestion listener (SKAdNetwork 4.0 to the well-known route, its network's copy with
// another conversion value forwarded with the server key, a coarse-value 4.0, a
// non-winning 3.0, 55 postbacks whose signed field was changed, and an AdAttributionKit
// re-engagement signed with a development key), and checks the SKAN page: the KPI tiles,
// the conversion-value histogram, a row per network and campaign after the networks are
// mapped (bad JSON and a field the server refuses shown under the editor), the revenue
// range from the schema, the postbacks list with the copies' mismatch and Apple's value,
// paged; counting development postbacks from the settings adds the re-engagement; at
// 390 px nothing scrolls sideways; the viewer sees the page with no control to change
// the schema or networks. Screenshots at 1280 and 390 px go to UNMOGROWP_ARTIFACTS.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { must, step, shot, settled, waitKPI, noSidewaysScroll, openBrowser, run } from './lib.mjs';

const apiURL = must('UNMOGROWP_API_URL').replace(/\/+$/, '');
const ingestURL = must('UNMOGROWP_INGEST_URL').replace(/\/+$/, '');
const apple = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'skan', 'testdata', 'apple.json'), 'utf8'));

/** Calls the API with a bearer token or the server key and returns the JSON answer. */
async function call(method, path, { token, key, body, want = 200 } = {}) {
	const headers = { 'Content-Type': 'application/json' };
	if (token) headers.Authorization = `Bearer ${token}`;
	if (key) headers['X-Api-Key'] = key;
	const resp = await fetch(apiURL + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
	const text = await resp.text();
	assert.equal(resp.status, want, `${method} ${path}: ${resp.status} ${text}`);
	return text ? JSON.parse(text) : null;
}

/** POSTs a body to the ingestion listener and checks the 200 and what it accepted. */
async function post(path, body, accepted, key) {
	const headers = { 'Content-Type': 'application/json' };
	if (key) headers['X-Api-Key'] = key;
	const resp = await fetch(ingestURL + path, { method: 'POST', headers, body: JSON.stringify(body) });
	const text = await resp.text();
	assert.equal(resp.status, 200, `POST ${path}: ${resp.status} ${text}`);
	assert.equal(JSON.parse(text).accepted, accepted, `POST ${path}: ${text}`);
}

async function register(email, name) {
	return (await call('POST', '/api/auth/register', { body: { email, password: 'correct horse battery', name }, want: 201 })).token;
}

async function login(page, email) {
	await page.goto(apiURL + '/login');
	await page.getByLabel('Email').fill(email);
	await page.getByLabel('Password').fill('correct horse battery');
	await page.getByRole('button', { name: 'Sign in' }).click();
	await page.waitForURL('**/apps');
}

const browser = await openBrowser({ width: 1280, height: 900 });
const { page, consoleErrors } = browser;

await run('skan', browser, async () => {
	const stamp = Date.now();
	const ownerEmail = `skan-owner-${stamp}@example.com`;
	const viewerEmail = `skan-viewer-${stamp}@example.com`;
	const owner = await register(ownerEmail, 'Sam Owner');
	await register(viewerEmail, 'Val Viewer');
	const app = await call('POST', '/api/apps', { token: owner, body: { name: 'Star Miner', platform: 'ios' }, want: 201 });
	const other = await call('POST', '/api/apps', { token: owner, body: { name: 'Other game', platform: 'ios' }, want: 201 });
	await call('PATCH', `/api/apps/${other.id}`, { token: owner, body: { settings: { app_store_id: 1234567890 } } });
	await call('POST', `/api/apps/${app.id}/members`, { token: owner, body: { email: viewerEmail, role: 'viewer' }, want: 201 });
	step(`app ${app.id}, a viewer added`);

	// Settings: the page says the id is missing; an id another app claims is refused under
	// its field; then Apple's example's id is saved.
	await login(page, ownerEmail);
	await page.goto(`${apiURL}/apps/${app.id}/skan`);
	await page.getByTestId('no-app-store-id').waitFor();
	await page.goto(`${apiURL}/apps/${app.id}/settings`);
	const storeID = page.getByLabel('App Store id');
	await storeID.fill('1234567890');
	await page.getByRole('button', { name: 'Save changes' }).click();
	await page.locator('#app_store_id-error').filter({ hasText: 'App Store id 1234567890 belongs to another app.' }).waitFor();
	assert.equal(await storeID.getAttribute('aria-invalid'), 'true');
	await storeID.fill('525463029');
	await page.getByRole('button', { name: 'Save changes' }).click();
	await page.getByText('Settings saved.').waitFor();
	assert.equal((await call('GET', `/api/apps/${app.id}`, { token: owner })).settings.app_store_id, 525463029);
	await shot(page, 'skan-settings-1280');
	step('App Store id set in the settings');

	// Postbacks: Apple's copy to the well-known route, the network's copy with another
	// conversion value, a coarse value, a non-winning one, 55 with a signed field changed,
	// and a development re-engagement.
	await post('/.well-known/skadnetwork/report-attribution/', apple['4.0 web, fine value'], 1);
	const tampered = Array.from({ length: 55 }, (_, i) => ({
		...apple['3.0 winning'],
		'campaign-id': 43,
		'transaction-id': `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`
	}));
	await post(
		'/v1/skan/postbacks',
		{
			postbacks: [
				{ ...apple['4.0 web, fine value'], 'conversion-value': 10 },
				apple['4.0 web, coarse value'],
				apple['3.0 non-winning'],
				apple['AdAttributionKit, development key 1'],
				...tampered
			]
		},
		59,
		app.server_key
	);
	step('postbacks sent');

	// The SKAN page: the counts, before any mapping.
	await page.goto(`${apiURL}/apps/${app.id}/skan`);
	assert.equal(await page.getByTestId('no-app-store-id').count(), 0, 'the App Store id notice is gone');
	await waitKPI(page, 'skan-installs', 2);
	await waitKPI(page, 'skan-non-winning', 1);
	await waitKPI(page, 'skan-invalid', 55);
	await waitKPI(page, 'skan-reengagements', 0);
	await page.getByTestId('chart-conversion-values').locator('svg').first().waitFor();
	await page.getByTestId('chart-coarse-values').locator('svg').first().waitFor();
	await page.locator('[data-testid="skan-row"][data-source="com.example"][data-campaign="5239"]').waitFor();
	step('the report counts 2 installs, 1 non-winning, 55 invalid signatures');

	// Networks: not JSON, then a field the server refuses, then a mapping.
	const networks = page.getByTestId('skan-networks');
	const netJSON = networks.getByLabel('Networks (JSON)');
	await netJSON.fill('{"networks": [');
	await networks.getByRole('button', { name: 'Save networks' }).click();
	await networks.getByTestId('config-error').filter({ hasText: 'This is not JSON' }).waitFor();
	await netJSON.fill(JSON.stringify({ networks: [{ media_source: 'nowhere' }] }));
	await networks.getByRole('button', { name: 'Save networks' }).click();
	await networks.getByTestId('config-error').filter({ hasText: 'networks[0].ad_network_id is required' }).waitFor();
	assert.equal(await netJSON.getAttribute('aria-invalid'), 'true');
	await netJSON.fill(
		JSON.stringify({ networks: [{ ad_network_id: 'com.example', media_source: 'example_net', campaigns: { '5239': 'launch', '39': 'brand' } }] })
	);
	await networks.getByRole('button', { name: 'Save networks' }).click();
	await networks.getByText('Saved.').waitFor();
	const launch = page.locator('[data-testid="skan-row"][data-source="example_net"][data-campaign="launch"]');
	await launch.waitFor();
	assert.equal(await launch.getByTestId('row-installs').textContent(), '1');
	step('networks mapped: the report follows');

	// Schema: a fine value out of range refused, then value 63 as a purchase of 5 to 10 USD.
	const schema = page.getByTestId('skan-schema');
	const schemaJSON = schema.getByLabel('Schema (JSON)');
	await schemaJSON.fill(JSON.stringify({ fine_grained_conversion_value_mappings: [{ fine_grained_conversion_value: 64 }] }));
	await schema.getByRole('button', { name: 'Save schema' }).click();
	await schema.getByTestId('config-error').filter({ hasText: 'fine_grained_conversion_value must be from 0 to 63' }).waitFor();
	await schemaJSON.fill(
		JSON.stringify({
			fine_grained_conversion_value_mappings: [
				{
					fine_grained_conversion_value: 63,
					conversion_value_mapping: {
						mapped_events: [{ mapped_event_name: 'purchase', currency_code: 'USD', event_revenue_range: { min_event_revenue: 5, max_event_revenue: 10 } }]
					}
				}
			]
		})
	);
	await schema.getByRole('button', { name: 'Save schema' }).click();
	await schema.getByText('Saved.').waitFor();
	await waitKPI(page, 'skan-revenue', 10);
	assert.match((await page.getByTestId('skan-revenue').textContent()) ?? '', /5–10/);
	step('schema saved: the revenue range is 5–10');

	// The postbacks list, newest first, 50 a page: the 55 forwarded last come first; then
	// one for Apple's and the network's copy, with Apple's value and the mismatch.
	const list = page.getByTestId('skan-postbacks');
	await page.waitForFunction(() => document.querySelectorAll('[data-testid="skan-postback"]').length === 50);
	await list.getByRole('button', { name: 'Load more' }).click();
	await page.waitForFunction(() => document.querySelectorAll('[data-testid="skan-postback"]').length === 59);
	assert.equal(await list.getByRole('button', { name: 'Load more' }).count(), 0, 'no page after the last');
	assert.equal(await list.locator('[data-testid="signature"]', { hasText: 'Invalid' }).count(), 55);
	const fine = list.locator('[data-testid="skan-postback"][data-transaction="6aafb7a5-0170-41b5-bbe4-fe71dedf1e30"]');
	assert.equal(await fine.count(), 1, 'the two copies are one postback');
	assert.equal(await fine.getByTestId('cv').textContent(), '63', "Apple's value wins");
	await fine.getByTestId('cv-mismatch').waitFor();
	assert.match((await fine.textContent()) ?? '', /purchase/);
	assert.match((await fine.textContent()) ?? '', /example_net/);
	await settled(page);
	await page.waitForTimeout(600); // chart animations
	await shot(page, 'skan-1280');
	step('postbacks list: one per postback, the mismatch flagged, paged');

	// A row selected charts its own values.
	await launch.click();
	assert.equal(await launch.getAttribute('aria-selected'), 'true');
	await page.getByTestId('chart-conversion-values').getByText('example_net · launch · postback 1').waitFor();
	await page.getByRole('button', { name: 'Show all' }).click();

	// Development postbacks counted once the settings say so.
	await page.goto(`${apiURL}/apps/${app.id}/settings`);
	await page.getByText('Count development postbacks').click();
	await page.getByRole('button', { name: 'Save changes' }).click();
	await page.getByText('Settings saved.').waitFor();
	await page.goto(`${apiURL}/apps/${app.id}/skan`);
	await waitKPI(page, 'skan-reengagements', 1);
	await waitKPI(page, 'skan-installs', 2);
	step('a development re-engagement counts once accepted, and is no install');

	// A phone's width.
	await page.setViewportSize({ width: 390, height: 844 });
	await page.goto(`${apiURL}/apps/${app.id}/skan`);
	await waitKPI(page, 'skan-installs', 2);
	await settled(page);
	await page.waitForTimeout(600);
	await noSidewaysScroll(page, 'the SKAN page at 390 px');
	await shot(page, 'skan-390');
	await page.goto(`${apiURL}/apps/${app.id}/settings`);
	await page.getByTestId('skan-settings').waitFor();
	await noSidewaysScroll(page, 'the settings page at 390 px');
	await page.getByRole('button', { name: 'Open menu' }).click();
	await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'SKAdNetwork' }).click();
	await page.waitForURL(`**/apps/${app.id}/skan`);
	step('the SKAN page at 390 px');

	// The viewer: the page, without controls to change the schema or networks.
	const viewer = await openBrowser({ width: 390, height: 844 });
	try {
		const page2 = viewer.page;
		await login(page2, viewerEmail);
		await page2.goto(`${apiURL}/apps/${app.id}/skan`);
		await waitKPI(page2, 'skan-installs', 2);
		await page2.getByTestId('read-only-schema').waitFor();
		await page2.getByTestId('read-only-networks').waitFor();
		assert.equal(await page2.getByRole('button', { name: /Save (schema|networks)/ }).count(), 0, 'a viewer has no Save button');
		assert.equal(await page2.getByLabel('Networks (JSON)').getAttribute('readonly'), '', "a viewer's editors are read-only");
		assert.match(await page2.getByLabel('Networks (JSON)').inputValue(), /example_net/);
		await settled(page2);
		await shot(page2, 'skan-viewer-390');
		await page2.goto(`${apiURL}/apps/${app.id}/settings`);
		assert.ok(await page2.getByLabel('App Store id').isDisabled(), "a viewer's App Store id is read-only");
	} finally {
		await viewer.close();
	}
	step('the viewer sees no control they may not use');

	// The expected failed loads: the settings' 409 and the two refused PUTs.
	assert.deepEqual(
		consoleErrors.filter((e) => !/Failed to load resource: .* (400|409)/.test(e)),
		[],
		'the browser console shows no errors'
	);
});
