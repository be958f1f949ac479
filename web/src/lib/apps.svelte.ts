// The signed-in user's apps, loaded once by the app shell and kept up to date by the pages
// that create, rename or delete one, so that the sidebar's app switcher stays right.

import { api, errorMessage, type App } from './api';

class Apps {
	list = $state<App[]>([]);
	loaded = $state(false);
	error = $state<string | null>(null);

	async load() {
		try {
			this.list = await api.apps();
			this.error = null;
		} catch (e) {
			this.error = errorMessage(e);
		} finally {
			this.loaded = true;
		}
	}

	/** Puts a created or changed app in the list. */
	put(app: App) {
		const i = this.list.findIndex((a) => a.id === app.id);
		if (i >= 0) this.list[i] = app;
		else this.list.push(app);
	}

	remove(id: string) {
		this.list = this.list.filter((a) => a.id !== id);
	}

	reset() {
		this.list = [];
		this.loaded = false;
		this.error = null;
	}
}

/** The signed-in user's apps. */
export const apps = new Apps();
