// Number, money, time and duration formats shared by every page.

const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
const pct = new Intl.NumberFormat('en-US', { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 });

/** 12,345 */
export function fmtInt(n: number | null | undefined): string {
	return int.format(n ?? 0);
}

/** 12.3K, for chart axes. */
export function fmtCompact(n: number): string {
	return compact.format(n);
}

/** 12.5% of a ratio 0.125. */
export function fmtPct(ratio: number | null | undefined): string {
	return pct.format(ratio ?? 0);
}

const moneyFormats = new Map<string, Intl.NumberFormat>();

/** $1,234.50 in the currency (ISO 4217), or the amount and the code when it is unknown. */
export function fmtMoney(n: number | null | undefined, currency = 'USD'): string {
	let f = moneyFormats.get(currency);
	if (!f) {
		try {
			f = new Intl.NumberFormat('en-US', { style: 'currency', currency, minimumFractionDigits: 2, maximumFractionDigits: 2 });
		} catch {
			f = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
		}
		moneyFormats.set(currency, f);
	}
	return f.format(n ?? 0);
}

const dateTime = new Intl.DateTimeFormat('en-US', {
	month: 'short',
	day: 'numeric',
	hour: '2-digit',
	minute: '2-digit',
	second: '2-digit',
	hour12: false
});
const date = new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric', year: 'numeric' });

/** Nov 3, 14:20:05 in the browser's time zone; "—" for none. */
export function fmtDateTime(iso: string | null | undefined): string {
	if (!iso || iso.startsWith('0001-')) return '—';
	const d = new Date(iso);
	return Number.isNaN(d.getTime()) ? '—' : dateTime.format(d);
}

const time = new Intl.DateTimeFormat('en-US', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

/** 14:20:05 in the browser's time zone. */
export function fmtTime(iso: string | null | undefined): string {
	if (!iso) return '';
	const d = new Date(iso);
	return Number.isNaN(d.getTime()) ? '' : time.format(d);
}

/** Nov 3, 2025. */
export function fmtDate(iso: string | null | undefined): string {
	if (!iso) return '—';
	const d = new Date(iso);
	return Number.isNaN(d.getTime()) ? '—' : date.format(d);
}

/** 2h 5m, 1m 30s, 45s: a click-to-install time. */
export function fmtDuration(seconds: number | null | undefined): string {
	if (seconds === null || seconds === undefined || seconds < 0) return '—';
	const s = Math.round(seconds);
	const d = Math.floor(s / 86400);
	const h = Math.floor((s % 86400) / 3600);
	const m = Math.floor((s % 3600) / 60);
	const r = s % 60;
	if (d > 0) return `${d}d ${h}h`;
	if (h > 0) return `${h}h ${m}m`;
	if (m > 0) return `${m}m ${r}s`;
	return `${r}s`;
}

/** "Fingerprint" from "fingerprint", "View-through (device id)" from its code. */
export function fmtMatchType(t: string): string {
	switch (t) {
		case 'referrer':
			return 'Install referrer';
		case 'device_id':
			return 'Device ID';
		case 'fingerprint':
			return 'Fingerprint';
		case 'view_through_device_id':
			return 'View-through (device ID)';
		case 'view_through_fingerprint':
			return 'View-through (fingerprint)';
		case 'organic':
			return 'Organic';
		case 'rejected':
			return 'Rejected';
		default:
			return t || '—';
	}
}

/** "Click injection" from "click_injection". */
export function fmtReason(r: string): string {
	const s = r.replaceAll('_', ' ');
	return s.charAt(0).toUpperCase() + s.slice(1);
}
