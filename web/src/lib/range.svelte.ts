// The date range every report page shows: a preset (today, the last 7 or 30 days) or a
// custom pair of days, shared by the pages so that it stays put while the user moves
// between them. Presets move with the clock: each refresh asks up to "now".

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
	 * The range to ask for now, and the chart interval that suits it. With tz, the app's
	 * zone, today and a custom range are asked as dates (YYYY-MM-DD, to inclusive), which
	 * the reports take as whole days of the app's zone, tz saying which date today is
	 * there. Without tz, for the routes that take only times (exports, the SKAN postbacks
	 * list), they are the browser's days as RFC 3339 times. The rolling presets are always
	 * RFC 3339 times.
	 */
	resolve(now = new Date(), tz?: string): Range & { interval: Interval } {
		// Up to the next whole minute: what arrived a moment ago is in, and the query stays
		// the same for a minute.
		const end = new Date(Math.ceil((now.getTime() + 1) / MINUTE) * MINUTE);
		let from: Date;
		let to = end;
		switch (this.preset) {
			case 'today':
				from = localMidnight(isoDay(now));
				break;
			case '30d':
				from = new Date(end.getTime() - 30 * DAY);
				break;
			case 'custom': {
				let a = localMidnight(this.customFrom || isoDay(now));
				let b = new Date(localMidnight(this.customTo || isoDay(now)).getTime() + DAY);
				if (b <= a) [a, b] = [b, new Date(a.getTime() + DAY)];
				from = a;
				to = b;
				break;
			}
			default:
				from = new Date(end.getTime() - 7 * DAY);
		}
		const interval: Interval = to.getTime() - from.getTime() <= 3 * DAY ? 'hour' : 'day';
		if (tz && this.preset === 'today') {
			const today = dayIn(now, tz);
			return { from: today, to: today, interval };
		}
		if (tz && this.preset === 'custom') return { from: isoDay(from), to: isoDay(new Date(to.getTime() - DAY)), interval };
		return { from: from.toISOString(), to: to.toISOString(), interval };
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
