// The ingestion listener's base URL for integration snippets: the one the API gives with
// each app (ingest_url: the server's PUBLIC_URL, or its ingestion listener's address).

/**
 * The ingestion base URL to show, without a trailing slash: fromAPI, the app's
 * ingest_url; only when the server knows none (an API-only process without PUBLIC_URL),
 * a guess of this host on the default ingestion port, which the user may correct.
 */
export function ingestURL(fromAPI: string | undefined): string {
	return (fromAPI || `${location.protocol}//${location.hostname}:8080`).replace(/\/+$/, '');
}
