// The date range every report page shows: a preset (today, the last 7 or 30 days) or a
// custom pair of days, shared by the pages so that it stays put while the user moves
// between them. Every preset is whole calendar days of the app's time zone: "Last 7 days"
// is today (under way) and the 6 days before it, drawn as 7 day buckets; nothing here is a
// rolling window. Presets move with the clock: each refresh asks again for today.

import type { Interval, Range } from './api';

export type Preset = 'today' | '7d' | '30d' | 'custom';

export const presets: { id: Preset; label: string }[] = [
	{ id: 'today', label: 'Today' },
	{ id: '7d', label: '7 days' },
	{ id: '30d', label: '30 days' },
	{ id: 'custom', label: 'Custom' }
];

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** YYYY-MM-DD of a local day. */
export function isoDay(d: Date): string {
	const p = (n: number) => String(n).padStart(2, '0');
	return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** YYYY-MM-DD of the day d falls on in the IANA zone tz (the browser's day if tz is unknown). */
export function dayIn(d: Date, tz: string): string {
	try {
		return new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
	} catch {
		return isoDay(d);
	}
}

/** The day n days after the YYYY-MM-DD day (before it for n < 0). */
export function addDays(day: string, n: number): string {
	const [y, m, d] = day.split('-').map(Number);
	return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The range of the same length just before r, as the breakdown's compare=previous_period
 * reads it: the days before for a range of days (to inclusive), the same duration before
 * for a range of times.
 */
export function previousPeriod(r: Range): Range {
	if (DATE.test(r.from) && DATE.test(r.to)) {
		const days = Math.round((Date.parse(r.to) - Date.parse(r.from)) / DAY) + 1;
		return { from: addDays(r.from, -days), to: addDays(r.from, -1) };
	}
	const from = Date.parse(r.from);
	const to = Date.parse(r.to);
	return { from: new Date(from - (to - from)).toISOString(), to: new Date(from).toISOString() };
}

/** The calendar days each preset covers, today included. */
const presetDays: Record<Exclude<Preset, 'custom'>, number> = { today: 1, '7d': 7, '30d': 30 };

function localMidnight(day: string): Date {
	const [y, m, d] = day.split('-').map(Number);
	return new Date(y, m - 1, d);
}

class DateRange {
	preset = $state<Preset>('7d');
	/** The custom range's first and last local days, inclusive. */
	customFrom = $state(isoDay(new Date(Date.now() - 6 * DAY)));
	customTo = $state(isoDay(new Date()));

	/**
	 * The range to ask for now, and the chart interval that suits it (hours for a single
	 * day). With tz, the app's zone, the range is dates (YYYY-MM-DD, to inclusive), which
	 * the reports take as whole days of the app's zone, tz saying which date today is
	 * there: "Last 7 days" is from 6 days before today to today. Without tz, for the routes
	 * that take only times (exports, the SKAN postbacks list), the same days are the
	 * browser's, as RFC 3339 times, the last one up to now.
	 */
	resolve(now = new Date(), tz?: string): Range & { interval: Interval } {
		if (this.preset !== 'custom') {
			const n = presetDays[this.preset];
			const interval: Interval = n === 1 ? 'hour' : 'day';
			if (tz) {
				const today = dayIn(now, tz);
				return { from: addDays(today, 1 - n), to: today, interval };
			}
			// Up to the next whole minute: what arrived a moment ago is in, and the query
			// stays the same for a minute.
			const end = new Date(Math.ceil((now.getTime() + 1) / MINUTE) * MINUTE);
			const from = localMidnight(addDays(isoDay(now), 1 - n));
			return { from: from.toISOString(), to: end.toISOString(), interval };
		}
		let a = this.customFrom || isoDay(now);
		let b = this.customTo || isoDay(now);
		if (b < a) [a, b] = [b, a];
		const interval: Interval = a === b ? 'hour' : 'day';
		if (tz) return { from: a, to: b, interval };
		return { from: localMidnight(a).toISOString(), to: localMidnight(addDays(b, 1)).toISOString(), interval };
	}

	/** The range as URL parameters: range=7d, or from and to (days) for a custom one. */
	params(): Record<string, string> {
		return this.preset === 'custom' ? { from: this.customFrom, to: this.customTo } : { range: this.preset };
	}

	/** Takes the range of URL parameters (as params writes them), when they name one. */
	fromParams(q: URLSearchParams) {
		const p = q.get('range');
		const from = q.get('from') ?? '';
		const to = q.get('to') ?? '';
		if (p && p in presetDays) this.preset = p as Preset;
		else if (DATE.test(from) && DATE.test(to)) {
			this.preset = 'custom';
			this.customFrom = from;
			this.customTo = to;
		}
	}

	/** Words for the range: "Last 7 days", "Nov 1 – Nov 7". */
	get label(): string {
		switch (this.preset) {
			case 'today':
				return 'Today';
			case '30d':
				return 'Last 30 days';
			case 'custom': {
				const f = new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric' });
				return `${f.format(localMidnight(this.customFrom))} – ${f.format(localMidnight(this.customTo))}`;
			}
			default:
				return 'Last 7 days';
		}
	}
}

/** The date range of this browser tab. */
export const range = new DateRange();
