// A list read a page at a time (installs, SKAN postbacks, the audit log): the first page,
// then the next ones with the cursor the last page answered. An answer that comes after
// the list was loaded afresh (another app, another range, a refresh) is dropped.

import { errorMessage } from './api';

/** One page of a list: its items and the cursor of the next page, "" at the end. */
export interface Page<T> {
	items: T[] | null | undefined;
	next: string;
}

export class Pager<T> {
	/** The items read so far; null until the first page answers. */
	items = $state<T[] | null>(null);
	/** The next page's cursor; "" when there is none. */
	cursor = $state('');
	/** Why the first page failed: shown in place of the list. */
	error = $state<string | null>(null);
	/** Why a next page failed: shown under the items, which stay. */
	moreError = $state<string | null>(null);
	busy = $state(false);
	#generation = 0;

	/** fetch reads the page at cursor, the first page without one. */
	constructor(private fetch: (cursor?: string) => Promise<Page<T>>) {}

	/** Empties the list: it shows as loading until load answers. */
	reset() {
		this.#generation++;
		this.items = null;
		this.cursor = '';
		this.error = null;
		this.moreError = null;
	}

	/** Reads the first page afresh, in place of the items. */
	async load() {
		const gen = ++this.#generation;
		this.busy = true;
		this.error = null;
		this.moreError = null;
		try {
			const p = await this.fetch();
			if (gen !== this.#generation) return;
			this.items = p.items ?? [];
			this.cursor = p.next ?? '';
		} catch (e) {
			if (gen === this.#generation) this.error = errorMessage(e);
		} finally {
			if (gen === this.#generation) this.busy = false;
		}
	}

	/** Reads the next page and appends its items. */
	async more() {
		const gen = this.#generation;
		this.busy = true;
		this.moreError = null;
		try {
			const p = await this.fetch(this.cursor);
			if (gen !== this.#generation) return;
			this.items = [...(this.items ?? []), ...(p.items ?? [])];
			this.cursor = p.next ?? '';
		} catch (e) {
			if (gen === this.#generation) this.moreError = errorMessage(e);
		} finally {
			if (gen === this.#generation) this.busy = false;
		}
	}
}
