import type { FastifyInstance } from 'fastify';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The page's files ship with the package (web/ at its root); this module runs from dist/src/http. */
export const WEB_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'web');

/** Only our own files and our own server: what the page shows of the log can never load or run anything. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * The operator page at `/`: static files, no token needed to fetch them; everything it shows it
 * reads with the token the user pastes. One route per file (no wildcard), so unknown paths keep
 * the JSON 404 of the error handler.
 */
export async function pageRoutes(app: FastifyInstance): Promise<void> {
  // Loaded by the server that serves the page, not by a CLI command that opens the data directory itself.
  const { default: fastifyStatic } = await import('@fastify/static');
  await app.register(fastifyStatic, {
    root: WEB_ROOT,
    prefix: '/',
    wildcard: false,
    index: ['index.html'],
    decorateReply: false,
    cacheControl: true,
    maxAge: 0,
    setHeaders: (res) => {
      res.header('content-security-policy', CSP);
      res.header('x-content-type-options', 'nosniff');
      res.header('referrer-policy', 'no-referrer');
    },
  });
}
