// Helpers the browser tests (e2e/*.test.mjs) share: the environment, the log of steps,
// screenshots, and the waits and checks on a page that every test makes the same way.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

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

/**
 * Fails when the document still scrolls sideways once it has reflowed (what names the page
 * in the message): after a resize, charts and tables lay out again a frame or more later.
 */
export async function noSidewaysScroll(page, what) {
	await page
		.waitForFunction(() => document.documentElement.scrollWidth <= window.innerWidth, null, { timeout: SETTLE_MS })
		.catch(() => {}); // the assertion below says by how much
	const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
	assert.ok(overflow <= 0, `${what} scrolls sideways by ${overflow} px`);
}

/** The flags every test starts Chromium with. */
const chromiumArgs = [
	'--headless',
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync'
];

/**
 * Starts Debian's headless Chromium ($CHROMIUM_PATH, default /usr/bin/chromium) on a fresh
 * profile with the viewport and any other launch options. Returns its context, its first
 * page (30 s default timeout), the page's console errors and uncaught exceptions as they
 * come, and close(), which closes the browser and deletes the profile.
 */
export async function openBrowser(viewport, options = {}) {
	mkdirSync(artifacts, { recursive: true });
	const profile = mkdtempSync(join(tmpdir(), 'unmogrowp-chromium-'));
	const context = await chromium.launchPersistentContext(profile, {
		executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
		headless: true,
		viewport,
		args: chromiumArgs,
		...options
	});
	const page = context.pages()[0] ?? (await context.newPage());
	page.setDefaultTimeout(30_000);
	const consoleErrors = [];
	page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
	page.on('pageerror', (e) => consoleErrors.push(String(e)));
	const close = async () => {
		await context.close();
		rmSync(profile, { recursive: true, force: true });
	};
	return { context, page, consoleErrors, close };
}

/**
 * Runs body, the test, then closes the browser and exits: 0 after "1 passed, 0 failed",
 * 1 after "0 passed, 1 failed" when body threw, having logged the error, the page's URL, a
 * screenshot at artifacts/<name>-failure.png, the console errors and the lines more()
 * returns (what else the test collected).
 */
export async function run(name, { page, consoleErrors, close }, body, more = () => []) {
	let failed = false;
	try {
		await body();
		console.log('1 passed, 0 failed');
	} catch (e) {
		failed = true;
		console.error(e);
		const file = join(artifacts, `${name}-failure.png`);
		await page.screenshot({ path: file, fullPage: true }).catch(() => {});
		console.error(`page: ${page.url()}\nscreenshot: ${file}`);
		if (consoleErrors.length) console.error('browser console errors:\n' + consoleErrors.join('\n'));
		for (const line of more()) console.error(line);
		console.log('0 passed, 1 failed');
	} finally {
		await close();
	}
	process.exit(failed ? 1 : 0);
}
