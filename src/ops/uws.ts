import { createRequire } from 'node:module';
import type * as Uws from 'uWebSockets.js';

const require = createRequire(import.meta.url);

/**
 * uWebSockets.js, asserted native: the package silently falls back to a slow JavaScript imitation
 * (no pub/sub) when no binary matches this Node ABI, and the console would quietly degrade.
 */
export function loadUws(): typeof Uws {
  const uws = require('uWebSockets.js') as typeof Uws;
  const native = Object.keys(require.cache).some((path) => /uws_[a-z0-9]+_[a-z0-9]+_\d+\.node$/.test(path));
  if (!native) throw new Error(`uWebSockets.js has no native binary for Node ABI ${process.versions.modules}; refusing the JavaScript fallback`);
  return uws;
}
