// The signed-in user. The session itself is an HttpOnly cookie that register, login and
// Google sign-in set (API.md, section 2), out of reach of any script of the page; beside it
// the server sets a CSRF cookie, readable here, that every call which changes something
// echoes in the X-CSRF-Token header. Its presence tells that this browser has a session.
// Nothing of the session is kept in localStorage; the user is asked of the server
// (GET /api/auth/me) once per page load.

import type { User } from './api';

/** The cookie the server sets beside the session cookie (api.CSRFCookie). */
const CSRF_COOKIE = 'unmogrowp_csrf';

// Where earlier versions kept the session token and the user: removed on sight, so that no
// token stays readable by scripts from a sign-in made before the cookie.
const LEGACY_KEYS = ['unmogrowp.token', 'unmogrowp.user'];

function readCookie(name: string): string | null {
	for (const part of document.cookie.split(';')) {
		const [k, ...v] = part.trim().split('=');
		if (k === name) return decodeURIComponent(v.join('='));
	}
	return null;
}

function dropLegacy() {
	try {
		for (const k of LEGACY_KEYS) localStorage.removeItem(k);
	} catch {
		// storage disabled: nothing kept there either
	}
}

class Auth {
	/** Whether this browser holds a session (its CSRF cookie); the server has the last word. */
	signedIn = $state(readCookie(CSRF_COOKIE) !== null);
	user = $state<User | null>(null);

	constructor() {
		dropLegacy();
	}

	/** The CSRF token to send with a call that changes something, or null without a session. */
	csrf(): string | null {
		return readCookie(CSRF_COOKIE);
	}

	/** Takes note of a new session, whose cookies the server has just set. */
	signIn(user: User | null) {
		this.signedIn = true;
		this.user = user;
	}

	/** Updates the user (after GET /api/auth/me). */
	setUser(user: User) {
		this.user = user;
	}

	/**
	 * Forgets the session here, after POST /api/auth/logout (which deletes both cookies) or
	 * a 401: deletes the CSRF cookie too, so that the next page load knows. The HttpOnly
	 * session cookie only the server can delete.
	 */
	signOut() {
		this.signedIn = false;
		this.user = null;
		const secure = location.protocol === 'https:' ? '; Secure' : '';
		document.cookie = `${CSRF_COOKIE}=; Path=/; Max-Age=0; SameSite=Strict${secure}`;
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
