/**
 * Container healthcheck for images that have no curl or wget: exits 0 when
 * the local service answers 2xx on the given path (default `/readyz`).
 *
 *   node shared/dist/healthcheck.js [/path]
 */
const path = process.argv[2] ?? '/readyz';
const port = process.env.PORT ?? '8080';

fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2_000) }).then(
  (response) => process.exit(response.ok ? 0 : 1),
  () => process.exit(1),
);
