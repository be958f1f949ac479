// The reports page's view of a breakdown (API.md section 4): which dimension it groups by
// (the media source → campaign → ad set → ad hierarchy expanding in place, or another
// dimension), the metric columns, the filters, the event type, the comparison and the
// sort, read from and written to the page's URL so that a view is a link.

import type { Dimension, Metric } from './api';

/** The drill-down hierarchy: each level expands into the next. */
export const HIERARCHY: Dimension[] = ['media_source', 'campaign', 'adset', 'ad'];

/** Every dimension, with its words. */
export const DIMENSIONS: { id: Dimension; label: string }[] = [
	{ id: 'media_source', label: 'Media source' },
	{ id: 'campaign', label: 'Campaign' },
	{ id: 'adset', label: 'Ad set' },
	{ id: 'ad', label: 'Ad' },
	{ id: 'site_id', label: 'Site ID' },
	{ id: 'channel', label: 'Channel' },
	{ id: 'country', label: 'Country' },
	{ id: 'platform', label: 'Platform' },
	{ id: 'app_version', label: 'App version' },
	{ id: 'os_version', label: 'OS version' }
];

/** The dimensions the picker offers to group by. */
export const GROUPINGS: Dimension[] = ['media_source', 'campaign', 'country', 'platform', 'app_version', 'site_id', 'channel', 'os_version'];

export const dimensionLabel = (d: string) => DIMENSIONS.find((x) => x.id === d)?.label ?? d;

/** How a metric's value reads: a count, a share, or money. */
export type MetricKind = 'int' | 'pct' | 'money';

/** Every metric, in the order of the columns, with its words and kind. */
export const METRICS: { id: Metric; label: string; kind: MetricKind; lowerIsBetter?: boolean; event?: boolean }[] = [
	{ id: 'installs', label: 'Installs', kind: 'int' },
	{ id: 'organic_installs', label: 'Organic', kind: 'int' },
	{ id: 'clicks', label: 'Clicks', kind: 'int' },
	{ id: 'impressions', label: 'Impressions', kind: 'int' },
	{ id: 'conversion_rate', label: 'Conv. rate', kind: 'pct' },
	{ id: 'events', label: 'Events', kind: 'int', event: true },
	{ id: 'unique_devices', label: 'Unique devices', kind: 'int', event: true },
	{ id: 'revenue', label: 'Revenue', kind: 'money', event: true },
	{ id: 'sessions', label: 'Sessions', kind: 'int' },
	{ id: 'rejected_installs', label: 'Rejected', kind: 'int', lowerIsBetter: true },
	{ id: 'reengagements', label: 'Re-engagements', kind: 'int' },
	{ id: 'cost', label: 'Cost', kind: 'money' },
	{ id: 'ecpi', label: 'eCPI', kind: 'money', lowerIsBetter: true },
	{ id: 'roas', label: 'ROAS', kind: 'pct' }
];

/** The columns of a view that names none: the media sources report's. */
export const DEFAULT_METRICS: Metric[] = [
	'installs',
	'clicks',
	'impressions',
	'conversion_rate',
	'events',
	'revenue',
	'rejected_installs',
	'cost',
	'ecpi',
	'roas'
];

/** What the reports page shows. */
export interface View {
	by: Dimension;
	metrics: Metric[];
	filters: Partial<Record<Dimension, string[]>>;
	/** The event type events, unique devices and revenue count; "": every type. */
	event: string;
	compare: boolean;
	/** A metric or the dimension, "-" in front for descending; "": the default. */
	sort: string;
}

/** The dimensions a row of the view at depth expands through: the hierarchy from by, or by alone. */
export function drillPath(by: Dimension): Dimension[] {
	const i = HIERARCHY.indexOf(by);
	return i >= 0 ? HIERARCHY.slice(i) : [by];
}

/** The sort to ask for: the view's when it names an asked metric or a dimension, else installs or the first metric, descending. */
export function effectiveSort(v: View): string {
	const key = v.sort.replace(/^-/, '');
	if (key && (v.metrics.includes(key as Metric) || DIMENSIONS.some((d) => d.id === key))) return v.sort;
	return v.metrics.includes('installs') ? '-installs' : `-${v.metrics[0]}`;
}

const isDimension = (s: string): s is Dimension => DIMENSIONS.some((d) => d.id === s);
const isMetric = (s: string): s is Metric => METRICS.some((m) => m.id === s);

/** The view a URL's query holds; what it lacks or gets wrong is the default. */
export function parseView(q: URLSearchParams): View {
	const by = q.get('by') ?? '';
	const metrics = (q.get('metrics') ?? '').split(',').filter(isMetric);
	const filters: View['filters'] = {};
	for (const [k, v] of q) {
		const m = /^filter\[(\w+)\]$/.exec(k);
		if (!m || !isDimension(m[1])) continue;
		const vs = v.split(',').map((s) => s.trim()).filter(Boolean);
		if (vs.length) filters[m[1]] = vs;
	}
	return {
		by: isDimension(by) ? by : 'media_source',
		metrics: metrics.length ? METRICS.map((m) => m.id).filter((id) => metrics.includes(id)) : DEFAULT_METRICS,
		filters,
		event: (q.get('event') ?? '').trim(),
		compare: q.get('compare') === 'previous_period',
		sort: q.get('sort') ?? ''
	};
}

/** Writes the view into the query q (keeping its other parameters), leaving out defaults. */
export function writeView(q: URLSearchParams, v: View): URLSearchParams {
	for (const k of [...q.keys()]) if (/^filter\[/.test(k) || ['by', 'metrics', 'event', 'compare', 'sort'].includes(k)) q.delete(k);
	if (v.by !== 'media_source') q.set('by', v.by);
	if (v.metrics.join(',') !== DEFAULT_METRICS.join(',')) q.set('metrics', v.metrics.join(','));
	for (const d of DIMENSIONS) {
		const vs = v.filters[d.id];
		if (vs?.length) q.set(`filter[${d.id}]`, vs.join(','));
	}
	if (v.event) q.set('event', v.event);
	if (v.compare) q.set('compare', 'previous_period');
	if (v.sort) q.set('sort', v.sort);
	return q;
}
