// ECharts options for the dashboard's charts, from the API's chart answers.

import type { Chart, Interval } from './api';
import { palette, type ChartOption } from './echarts';
import { fmtCompact, fmtInt, fmtMoney, fmtPct } from './format';

const axisLabel = { color: '#71717a', fontSize: 11 };
const splitLine = { lineStyle: { color: '#f4f4f5' } };
const axisLine = { lineStyle: { color: '#e4e4e7' } };

const hourFmt = new Intl.DateTimeFormat('en-US', { hour: '2-digit', minute: '2-digit', hour12: false });
const dayFmt = new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric' });

/** An x-axis label of a time category: a local hour ("14:00", "Nov 3" at midnight) or a day. */
export function categoryLabel(c: string, interval: Interval): string {
	if (interval === 'hour') {
		const d = new Date(c);
		if (Number.isNaN(d.getTime())) return c;
		return d.getHours() === 0 ? dayFmt.format(d) : hourFmt.format(d);
	}
	const [y, m, day] = c.split('-').map(Number);
	if (!y || !m || !day) return c;
	return dayFmt.format(new Date(y, m - 1, day));
}

/** Whether a chart has any non-zero value. */
export function hasData(c: Chart | null | undefined): boolean {
	return !!c && c.series.some((s) => s.data.some((v) => v !== 0));
}

const seriesNames: Record<string, string> = {
	organic: 'Organic',
	non_organic: 'Non-organic',
	installs: 'Installs',
	revenue: 'Revenue',
	other: 'Other'
};

function seriesName(n: string): string {
	return seriesNames[n] ?? n;
}

/** Organic traffic is drawn in a neutral grey so that paid traffic, in the accent, stands out. */
const ORGANIC = '#a1a1aa';

function seriesColor(n: string): string | undefined {
	if (n === 'organic' || n === 'other') return ORGANIC;
	if (n === 'non_organic') return palette[0];
	return undefined;
}

const tooltip = {
	trigger: 'axis',
	axisPointer: { type: 'shadow', shadowStyle: { color: 'rgba(79,70,229,0.06)' } },
	backgroundColor: '#fff',
	borderColor: '#e4e4e7',
	textStyle: { color: '#18181b', fontSize: 12 },
	extraCssText: 'box-shadow: 0 4px 12px rgba(0,0,0,.08); border-radius: 8px;'
};

const legend = { top: 0, right: 0, icon: 'roundRect', itemWidth: 10, itemHeight: 10, textStyle: { color: '#52525b', fontSize: 12 } };

/** A time chart: stacked bars per interval (installs, events) or an area line (revenue). */
export function timeChart(
	c: Chart,
	interval: Interval,
	kind: 'stacked' | 'area',
	money?: string
): ChartOption {
	const fmt = money ? (v: number) => fmtMoney(v, money) : fmtInt;
	return {
		grid: { left: 8, right: 8, top: 36, bottom: 4, containLabel: true },
		legend: c.series.length > 1 ? legend : undefined,
		tooltip: { ...tooltip, axisPointer: kind === 'area' ? { type: 'line', lineStyle: { color: '#c7d2fe' } } : tooltip.axisPointer, valueFormatter: (v: number) => fmt(v) },
		xAxis: {
			type: 'category',
			data: c.categories.map((x) => categoryLabel(x, interval)),
			axisLabel: { ...axisLabel, hideOverlap: true },
			axisTick: { show: false },
			axisLine
		},
		yAxis: {
			type: 'value',
			minInterval: money ? undefined : 1,
			axisLabel: { ...axisLabel, formatter: (v: number) => (money ? fmtMoney(v, money).replace(/\.00$/, '') : fmtCompact(v)) },
			splitLine
		},
		series: c.series.map((s) =>
			kind === 'area'
				? {
						name: seriesName(s.name),
						type: 'line',
						data: s.data,
						symbol: 'circle',
						symbolSize: 5,
						showSymbol: c.categories.length <= 48,
						lineStyle: { width: 2 },
						areaStyle: { opacity: 0.1 }
					}
				: {
						name: seriesName(s.name),
						type: 'bar',
						stack: 'total',
						data: s.data,
						barMaxWidth: 28,
						itemStyle: { color: seriesColor(s.name) }
					}
		)
	};
}

/** Installs by category (media source): horizontal bars, largest on top. */
export function rankChart(c: Chart): ChartOption {
	const values = c.series[0]?.data ?? [];
	const rows = c.categories.map((name, i) => ({ name, value: values[i] ?? 0 })).sort((a, b) => a.value - b.value);
	return {
		grid: { left: 8, right: 24, top: 8, bottom: 4, containLabel: true },
		tooltip: { ...tooltip, valueFormatter: (v: number) => fmtInt(v) },
		xAxis: { type: 'value', minInterval: 1, axisLabel: { ...axisLabel, formatter: (v: number) => fmtCompact(v) }, splitLine },
		yAxis: {
			type: 'category',
			data: rows.map((r) => (r.name === 'organic' ? 'Organic' : r.name || '(none)')),
			axisLabel: { ...axisLabel, color: '#3f3f46', fontSize: 12 },
			axisTick: { show: false },
			axisLine
		},
		series: [
			{
				name: 'Installs',
				type: 'bar',
				data: rows.map((r) => ({ value: r.value, itemStyle: r.name === 'organic' ? { color: ORGANIC } : undefined })),
				barMaxWidth: 18,
				itemStyle: { borderRadius: [0, 4, 4, 0] },
				label: { show: true, position: 'right', color: '#52525b', fontSize: 11, formatter: (p: { value: number }) => fmtInt(p.value) }
			}
		]
	};
}

const platformNames: Record<string, string> = {
	ios: 'iOS',
	android: 'Android',
	web: 'Web',
	other: 'Other',
	unknown: 'Unknown',
	'': 'Unknown'
};

/** Installs by platform: a donut, its legend giving each platform's count and share. */
export function shareChart(c: Chart): ChartOption {
	const values = c.series[0]?.data ?? [];
	const data = c.categories.map((name, i) => ({ name: platformNames[name] ?? name, value: values[i] ?? 0 }));
	const total = data.reduce((n, d) => n + d.value, 0);
	const byName = new Map(data.map((d) => [d.name, d.value]));
	const share = (v: number) => (total > 0 ? fmtPct(v / total) : '—');
	return {
		tooltip: {
			trigger: 'item',
			backgroundColor: '#fff',
			borderColor: '#e4e4e7',
			textStyle: { color: '#18181b', fontSize: 12 },
			formatter: (p: { name: string; value: number }) => `${p.name}: ${fmtInt(p.value)} (${share(p.value)})`
		},
		legend: {
			...legend,
			top: 'middle',
			right: 4,
			orient: 'vertical',
			formatter: (name: string) => `${name}  ${fmtInt(byName.get(name) ?? 0)} · ${share(byName.get(name) ?? 0)}`
		},
		series: [
			{
				name: 'Installs',
				type: 'pie',
				radius: ['48%', '74%'],
				center: ['30%', '50%'],
				avoidLabelOverlap: true,
				label: { show: false },
				itemStyle: { borderColor: '#fff', borderWidth: 2 },
				data
			}
		]
	};
}

/** The fine conversion values 0 to 63 of a SKAN report: one bar per value. */
export function conversionValueChart(values: number[]): ChartOption {
	return {
		grid: { left: 8, right: 8, top: 12, bottom: 4, containLabel: true },
		tooltip: {
			...tooltip,
			valueFormatter: (v: number) => fmtInt(v),
			formatter: (ps: { name: string; value: number }[]) =>
				`Conversion value ${ps[0]?.name}: ${fmtInt(ps[0]?.value ?? 0)} postbacks`
		},
		xAxis: {
			type: 'category',
			data: values.map((_, i) => String(i)),
			axisLabel: { ...axisLabel, interval: 7 },
			axisTick: { show: false },
			axisLine
		},
		yAxis: { type: 'value', minInterval: 1, axisLabel: { ...axisLabel, formatter: (v: number) => fmtCompact(v) }, splitLine },
		series: [{ name: 'Postbacks', type: 'bar', data: values, barCategoryGap: '20%', itemStyle: { borderRadius: [3, 3, 0, 0] } }]
	};
}

/** The coarse conversion values of a SKAN report: low, medium, high. */
export function coarseValueChart(coarse: { low: number; medium: number; high: number }): ChartOption {
	const data = [
		{ name: 'Low', value: coarse.low, itemStyle: { color: '#a5b4fc' } },
		{ name: 'Medium', value: coarse.medium, itemStyle: { color: '#6366f1' } },
		{ name: 'High', value: coarse.high, itemStyle: { color: '#3730a3' } }
	];
	return {
		grid: { left: 8, right: 8, top: 12, bottom: 4, containLabel: true },
		tooltip: { ...tooltip, valueFormatter: (v: number) => fmtInt(v) },
		xAxis: { type: 'category', data: data.map((d) => d.name), axisLabel: { ...axisLabel, color: '#3f3f46', fontSize: 12 }, axisTick: { show: false }, axisLine },
		yAxis: { type: 'value', minInterval: 1, axisLabel: { ...axisLabel, formatter: (v: number) => fmtCompact(v) }, splitLine },
		series: [{ name: 'Postbacks', type: 'bar', data, barMaxWidth: 48, itemStyle: { borderRadius: [4, 4, 0, 0] } }]
	};
}

/**
 * The LTV curve: for each group (media source, or campaign), the cumulative revenue per
 * install at each day N, over the cohorts for which day N has ended (a day under way would
 * pull the curve down). One line per group, x the days asked.
 */
export function ltvChart(days: number[], lines: { name: string; data: (number | null)[] }[], money: string): ChartOption {
	return {
		grid: { left: 8, right: 8, top: 36, bottom: 4, containLabel: true },
		legend: { ...legend, type: 'scroll', left: 0 },
		tooltip: {
			...tooltip,
			axisPointer: { type: 'line', lineStyle: { color: '#c7d2fe' } },
			valueFormatter: (v: number | null) => (v == null ? '—' : fmtMoney(v, money))
		},
		xAxis: {
			type: 'category',
			data: days.map((d) => `Day ${d}`),
			axisLabel,
			axisTick: { show: false },
			axisLine
		},
		yAxis: { type: 'value', axisLabel: { ...axisLabel, formatter: (v: number) => fmtMoney(v, money) }, splitLine },
		series: lines.map((l, i) => ({
			name: l.name,
			type: 'line',
			data: l.data,
			symbolSize: 6,
			connectNulls: false,
			lineStyle: { width: 2 },
			color: l.name === 'organic' ? ORGANIC : palette[i % palette.length]
		}))
	};
}
