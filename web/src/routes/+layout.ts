// A single-page app: nothing is rendered on a server or prerendered; the Go handler answers
// every page path with index.html.
export const ssr = false;
export const prerender = false;
export const trailingSlash = 'never';
