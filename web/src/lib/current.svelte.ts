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
}

export function provideCurrentApp(c: CurrentApp) {
	setContext(KEY, c);
}

export function currentApp(): CurrentApp {
	return getContext<CurrentApp>(KEY);
}
