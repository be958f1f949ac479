// The ingestion listener's base URL for integration snippets. The API does not say it, so
// the dashboard learns it from a tracking link's click URL (which starts with it) and
// otherwise guesses this host on the default ingestion port; the user can correct it.

const KEY = 'unmogrowp.ingestURL';

/** The ingestion base URL to show, without a trailing slash. */
export function ingestURL(): string {
	try {
		const saved = localStorage.getItem(KEY);
		if (saved) return saved;
	} catch {
		// no storage: guess
	}
	return `${location.protocol}//${location.hostname}:8080`;
}

/** Remembers the ingestion base URL, e.g. from a link's click URL. */
export function rememberIngestURL(u: string) {
	const base = u.replace(/\/(c|i)\/[^/]*$/, '').replace(/\/+$/, '');
	if (!/^https?:\/\//.test(base)) return;
	try {
		localStorage.setItem(KEY, base);
	} catch {
		// not remembered
	}
}
