// Auto-refresh: runs a load now and then every few seconds while live and the tab is
// visible; a load that is still running is not started again.

/** Refresh every REFRESH_MS while live. */
export const REFRESH_MS = 5000;

export class Poller {
	live = $state(true);
	updated = $state<Date | null>(null);
	#running = false;

	constructor(private load: () => Promise<void>) {}

	/** Loads now, unless a load is running. */
	async run() {
		if (this.#running) return;
		this.#running = true;
		try {
			await this.load();
			this.updated = new Date();
		} finally {
			this.#running = false;
		}
	}

	/** Starts the timer; call it from an $effect and return what it returns. */
	start(): () => void {
		const t = setInterval(() => {
			if (this.live && document.visibilityState === 'visible') this.run();
		}, REFRESH_MS);
		return () => clearInterval(t);
	}
}
