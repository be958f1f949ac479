// The app the pages under /apps/{id} are about, loaded once by their layout and handed
// down through a context.

import { getContext, setContext } from 'svelte';
import type { App } from './api';

const KEY = Symbol('current app');

/** The current app: null until loaded. */
export class CurrentApp {
	app = $state<App | null>(null);

	/** The app's reporting currency, for revenue. */
	get currency(): string {
		return this.app?.settings.reporting_currency || 'USD';
	}

	/** The app's time zone, whose calendar days the reports' days are. */
	get timezone(): string {
		return this.app?.settings.timezone || 'UTC';
	}
}

export function provideCurrentApp(c: CurrentApp) {
	setContext(KEY, c);
}

export function currentApp(): CurrentApp {
	return getContext<CurrentApp>(KEY);
}
