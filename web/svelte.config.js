import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

const here = import.meta.dirname;

// sourceHash is a hash of everything the build is made from, so that SvelteKit's version
// (by default a timestamp) is the same for the same sources and the committed build is
// reproducible: CI rebuilds it and compares.
function sourceHash() {
	const h = createHash('sha256');
	const walk = (dir) => {
		for (const name of readdirSync(dir).sort()) {
			const p = join(dir, name);
			if (statSync(p).isDirectory()) walk(p);
			else h.update(relative(here, p)).update('\0').update(readFileSync(p)).update('\0');
		}
	};
	for (const d of ['src', 'static']) walk(join(here, d));
	for (const f of ['package-lock.json', 'svelte.config.js', 'vite.config.ts']) {
		h.update(f).update('\0').update(readFileSync(join(here, f)));
	}
	return h.digest('hex').slice(0, 16);
}

/** @type {import('@sveltejs/kit').Config} */
const config = {
	preprocess: vitePreprocess(),
	kit: {
		// A single-page app: every path that is not a file is answered with index.html by the
		// Go handler (web.Handler), and the router takes it from there.
		adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', strict: true }),
		version: { name: sourceHash(), pollInterval: 0 }
	}
};

export default config;
