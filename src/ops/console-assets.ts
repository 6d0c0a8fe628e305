import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chartLibrary } from '../day-end/index.js';

/** A file the console is made of, with its content type. */
export interface ConsoleAsset {
  type: string;
  body: Buffer;
}

/** The project's root: this module runs from dist/src/ops/. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * The management console's files, read once when the admin port starts and served from memory:
 * the page and its style from the sources, the browser code as `tsc -p src/ops/console` compiled
 * it, and Chart.js from its npm package. Nothing comes from a CDN. Without the compiled code
 * (only the switch was built) the console is absent and says how to build it.
 */
export function consoleAssets(): Map<string, ConsoleAsset> | string {
  const file = (path: string) => readFileSync(join(ROOT, path));
  try {
    return new Map([
      ['/', { type: 'text/html; charset=utf-8', body: file('src/ops/console/index.html') }],
      ['/console/console.css', { type: 'text/css; charset=utf-8', body: file('src/ops/console/console.css') }],
      ['/console/app.js', { type: 'text/javascript; charset=utf-8', body: file('dist/src/ops/console/app.js') }],
      ['/console/chart.js', { type: 'text/javascript; charset=utf-8', body: Buffer.from(chartLibrary()) }],
    ]);
  } catch (err) {
    return `the console is not built (${(err as Error).message}): run npm run build`;
  }
}
