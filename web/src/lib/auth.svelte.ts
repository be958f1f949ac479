// The signed-in user: the session token from register, login or Google sign-in, kept in
// localStorage so that it survives reloads, and the user it belongs to.

import type { User } from './api';

const TOKEN_KEY = 'unmogrowp.token';
const USER_KEY = 'unmogrowp.user';

function load<T>(key: string, parse: (s: string) => T): T | null {
	try {
		const s = localStorage.getItem(key);
		return s === null ? null : parse(s);
	} catch {
		return null;
	}
}

class Auth {
	token = $state<string | null>(load(TOKEN_KEY, (s) => s));
	user = $state<User | null>(load(USER_KEY, (s) => JSON.parse(s) as User));

	/** Remembers a new session. */
	signIn(token: string, user: User | null) {
		this.token = token;
		this.user = user;
		localStorage.setItem(TOKEN_KEY, token);
		if (user) localStorage.setItem(USER_KEY, JSON.stringify(user));
		else localStorage.removeItem(USER_KEY);
	}

	/** Updates the remembered user (after GET /api/auth/me). */
	setUser(user: User) {
		this.user = user;
		localStorage.setItem(USER_KEY, JSON.stringify(user));
	}

	/** Forgets the session. */
	signOut() {
		this.token = null;
		this.user = null;
		localStorage.removeItem(TOKEN_KEY);
		localStorage.removeItem(USER_KEY);
	}
}

/** The session of this browser. */
export const auth = new Auth();

/**
 * returnTo is a path to go on to after sign-in: only a path of this site (one that starts
 * with a single "/"), never another origin; anything else is /apps.
 */
export function safeReturnTo(p: string | null | undefined): string {
	if (!p || !p.startsWith('/') || p.startsWith('//') || p.startsWith('/\\') || p.startsWith('/login')) return '/apps';
	return p;
}
