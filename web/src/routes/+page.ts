import { redirect } from '@sveltejs/kit';
import { auth } from '$lib/auth.svelte';

export function load() {
	redirect(307, auth.signedIn ? '/apps' : '/login');
}
