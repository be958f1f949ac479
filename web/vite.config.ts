import { sveltekit } from '@sveltejs/kit/vite';
import tailwindcss from '@tailwindcss/vite';
import { defineConfig, loadEnv } from 'vite';

export default defineConfig(({ mode }) => {
	// `npm run dev` proxies the API to a local `unmogrowp serve`: API_URL, default :3001.
	const env = loadEnv(mode, new URL('.', import.meta.url).pathname, '');
	return {
		plugins: [tailwindcss(), sveltekit()],
		server: { proxy: { '/api': env.API_URL || 'http://localhost:3001' } },
		build: { chunkSizeWarningLimit: 1200 }
	};
});
