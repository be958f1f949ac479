// The cost CSV file as the server reads it (POST /api/apps/{app_id}/costs, docs/cost.md),
// parsed in the browser for the upload page's preview. The server checks the file again
// and its answer is the one that counts: this only shows what will be sent, and the first
// mistake it can see, with the same line and column.

import type { Cost } from './api';

/** The columns of a cost file; the first four are required. */
export const COST_COLUMNS = ['date', 'media_source', 'cost', 'currency', 'campaign', 'adset', 'ad', 'country', 'impressions', 'clicks'] as const;
type Column = (typeof COST_COLUMNS)[number];
const REQUIRED: Column[] = ['date', 'media_source', 'cost', 'currency'];

export interface ParsedCosts {
	rows: Cost[];
	/** The first mistake, "Line N, column C: ...", or null. */
	error: string | null;
}

/** Splits RFC 4180 CSV into records, each with the line it starts on (1-based). */
function records(text: string): { line: number; cells: string[] }[] {
	const out: { line: number; cells: string[] }[] = [];
	let cells: string[] = [];
	let cell = '';
	let quoted = false;
	let line = 1;
	let start = 1;
	let any = false; // the record has a character or a separator
	for (let i = 0; i < text.length; i++) {
		const c = text[i];
		if (quoted) {
			if (c === '"' && text[i + 1] === '"') {
				cell += '"';
				i++;
			} else if (c === '"') quoted = false;
			else {
				if (c === '\n') line++;
				cell += c;
			}
			continue;
		}
		if (c === '"' && cell === '') {
			quoted = true;
			any = true;
		} else if (c === ',') {
			cells.push(cell);
			cell = '';
			any = true;
		} else if (c === '\n' || c === '\r') {
			if (c === '\r' && text[i + 1] === '\n') i++;
			if (any || cell !== '') {
				cells.push(cell);
				out.push({ line: start, cells });
			}
			cells = [];
			cell = '';
			any = false;
			line++;
			start = line;
		} else {
			cell += c;
			any = true;
		}
	}
	if (any || cell !== '') {
		cells.push(cell);
		out.push({ line: start, cells });
	}
	return out;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function validDate(s: string): boolean {
	if (!DATE.test(s)) return false;
	const d = new Date(`${s}T00:00:00Z`);
	return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/** Parses a cost file; rows holds those before the first mistake. */
export function parseCostCSV(text: string): ParsedCosts {
	const recs = records(text.replace(/^\uFEFF/, ''));
	const rows: Cost[] = [];
	if (recs.length === 0) return { rows, error: 'Line 1: the file is empty; it needs a header.' };
	const cols: Column[] = [];
	for (const [i, raw] of recs[0].cells.entries()) {
		const h = raw.trim().toLowerCase() as Column;
		if (!COST_COLUMNS.includes(h)) return { rows, error: `Line 1, column ${i + 1}: unknown column "${raw.trim()}".` };
		if (cols.includes(h)) return { rows, error: `Line 1, column ${i + 1}: column ${h} is there twice.` };
		cols.push(h);
	}
	for (const r of REQUIRED) if (!cols.includes(r)) return { rows, error: `Line 1: column ${r} is required.` };
	for (const { line, cells } of recs.slice(1)) {
		if (cells.length !== cols.length)
			return { rows, error: `Line ${line}: ${cells.length} cells, but the header names ${cols.length} columns.` };
		const c: Cost = { date: '', media_source: '', campaign: '', adset: '', ad: '', country: '', cost: 0, currency: '', impressions: 0, clicks: 0 };
		for (const [i, col] of cols.entries()) {
			const v = cells[i].trim();
			const fail = (msg: string): ParsedCosts => ({ rows, error: `Line ${line}, column ${col}: ${msg}` });
			switch (col) {
				case 'date':
					if (!validDate(v)) return fail(v ? 'date must be a day as YYYY-MM-DD.' : 'date is required.');
					c.date = v;
					break;
				case 'cost': {
					const n = Number(v);
					if (v === '') return fail('cost is required.');
					if (Number.isNaN(n)) return fail('cost must be a number.');
					if (!(n >= 0 && n <= 1e9)) return fail('cost must be a number from 0 to 1000000000.');
					c.cost = n;
					break;
				}
				case 'currency':
					if (!/^[A-Za-z]{3}$/.test(v)) return fail(v ? 'currency must be a three-letter ISO 4217 code.' : 'currency is required.');
					c.currency = v.toUpperCase();
					break;
				case 'impressions':
				case 'clicks':
					if (v !== '' && !/^\d+$/.test(v)) return fail(`${col} must be a whole number, 0 or more.`);
					c[col] = v === '' ? 0 : Number(v);
					break;
				default:
					c[col] = v;
			}
		}
		if (!c.media_source) return { rows, error: `Line ${line}, column media_source: media_source is required.` };
		rows.push(c);
	}
	return { rows, error: null };
}
