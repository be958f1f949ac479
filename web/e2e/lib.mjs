// Helpers the browser tests (e2e/*.test.mjs) share: the environment, the log of steps,
// screenshots, and the waits and checks on a page that every test makes the same way.
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';

/** Where screenshots go: $UNMOGROWP_ARTIFACTS, or e2e/screenshots. */
export const artifacts = resolve(process.env.UNMOGROWP_ARTIFACTS || join(import.meta.dirname, 'screenshots'));

/** How long a page may take to settle (its loads, a KPI's value) before the test fails. */
export const SETTLE_MS = 45_000;

/** Returns the environment variable name, or ends the test with exit code 2 without it. */
export function must(name) {
	const v = process.env[name];
	if (!v) {
		console.error(`${name} is not set`);
		process.exit(2);
	}
	return v;
}

const started = Date.now();

/** Logs msg with the seconds since the test started. */
export function step(msg) {
	console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
}

/** Saves a full-page screenshot of page as artifacts/<name>.png. */
export async function shot(page, name) {
	const file = join(artifacts, `${name}.png`);
	await page.screenshot({ path: file, fullPage: true });
	step(`screenshot ${file}`);
}

/** Waits until the page shows no loading status or skeleton. */
export async function settled(page) {
	await page.waitForFunction(() => !document.querySelector('[role="status"], .animate-pulse'), null, { timeout: SETTLE_MS });
}

/** Waits until the KPI tile of data-testid id has the data-value want. */
export async function waitKPI(page, id, want) {
	await page
		.waitForFunction(
			([id, want]) => Number(document.querySelector(`[data-testid="${id}"]`)?.getAttribute('data-value')) === want,
			[id, want],
			{ timeout: SETTLE_MS, polling: 250 }
		)
		.catch(async (e) => {
			throw new Error(`${id} shows ${await page.getByTestId(id).getAttribute('data-value')}, want ${want}: ${e.message}`);
		});
}

/** Fails when the document scrolls sideways (what names the page in the message). */
export async function noSidewaysScroll(page, what) {
	const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
	assert.ok(overflow <= 0, `${what} scrolls sideways by ${overflow} px`);
}
