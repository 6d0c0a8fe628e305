/**
 * Shared set-up for the admin API's integration tests: the real switch with the demo set-up and a
 * bootstrap admin token on ephemeral ports, JSON calls to its admin port, tokens of each role.
 * Not a test file itself (no `.test.` in the name).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Test } from 'tap';
import { DEFAULTS, startSwitch, type RunningSwitch, type SwitchConfig } from '../../src/switch/index.js';
import { suiteLogging } from '../suite-log.js';

export const ADMIN_TOKEN = 'reference-api-test-admin-token-0123';

export interface ApiAnswer {
  status: number;
  body: any;
  /** The answer as sent, to look for what must never be in it. */
  text: string;
}

export interface ApiSwitch {
  sw: RunningSwitch;
  dataDir: string;
  /** A call with the bootstrap admin token, or `token`; a string body is sent as it is. */
  api(method: string, path: string, body?: unknown, token?: string): Promise<ApiAnswer>;
  /** A fresh API token of `role`. */
  tokenOf(role: 'viewer' | 'operator' | 'admin'): Promise<string>;
}

/**
 * The demo switch with an admin token; `t.teardown` closes it and deletes its data. It logs as
 * test/suite-log.ts says; a test that reads the main thread's lines passes its own `log`.
 */
export async function startApiSwitch(t: Test, config: Partial<SwitchConfig> = {}, log?: Logger): Promise<ApiSwitch> {
  const dataDir = mkdtempSync(join(tmpdir(), 'posp-reference-api-'));
  const logging = suiteLogging();
  const sw = await startSwitch({ ...DEFAULTS, dataDir, posPort: 0, adminPort: 0, demo: true, workers: 1, ...logging.config, adminToken: ADMIN_TOKEN, cutoverAt: 'off', ...config }, log ?? logging.log);
  t.teardown(async () => {
    await sw.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const api = async (method: string, path: string, body?: unknown, token = ADMIN_TOKEN): Promise<ApiAnswer> => {
    const res = await fetch(`http://127.0.0.1:${sw.adminPort}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: JSON.parse(text), text };
  };
  const tokenOf = async (role: string): Promise<string> => (await api('POST', '/api/v1/tokens', { role, label: `${role} for a test` })).body.token;
  return { sw, dataDir, api, tokenOf };
}

/** Waits until `done` holds, checking every 20 ms for at most `ms`; true if it did. */
export async function eventually(done: () => boolean | Promise<boolean>, ms = 2000): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; await new Promise((r) => setTimeout(r, 20))) if (await done()) return true;
  return done();
}
