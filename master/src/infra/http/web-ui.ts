import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Request, Response } from 'express';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../../../shared/src/package-root.js';

/** Where `npm run build` puts the web UI (master/web/vite.config.ts). */
export function webUiDirectory(): string {
  return join(packageRoot(), 'dist', 'ui');
}

/**
 * Serves the web UI at `/`: static files, public (the app asks for a token and sends it with every
 * API call; the files hold no data). Routes are in the URL's hash, so no fallback is needed. `/api/*`
 * stays Nest's. Without a build, `/` says how to make one instead of a 404.
 */
export function serveWebUi(app: NestExpressApplication, directory = webUiDirectory()): void {
  if (existsSync(join(directory, 'index.html'))) {
    app.useStaticAssets(directory, { index: 'index.html', maxAge: 0, fallthrough: true });
    return;
  }
  app.use('/', (request: Request, response: Response, next: () => void) => {
    if (request.method !== 'GET' || request.path !== '/') return next();
    response
      .status(200)
      .type('text/plain')
      .send(
        `The Berth web UI is not built (no ${join(directory, 'index.html')}): run \`npm run build\`.\n` +
          'The REST API is at /api (OpenAPI: /api/docs).\n',
      );
  });
}
