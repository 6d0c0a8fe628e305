import { SecurityError, componentsProblem, keyFromComponents, type Components, type LmkCustodian, type SecurityModule } from '../security/index.js';
import type { Terminal } from '../store/index.js';
import { HttpError, type ApiRoutes } from './http.js';
import type { ReferenceDesk } from './reference.js';
import { bodyOf, checkedChange, storedRecord } from './reference-api.js';

const TMK_USAGE = '{"components": [2 or 3 components, each 32 or 48 hex digits], "componentKcvs"?: [their check values, 6 hex digits each], "kcv"?: the key\'s check value}';

/**
 * Key custody over the admin API (admin tokens only):
 * - `PUT /api/v1/terminals/:tid/tmk`: a terminal's new master key, given as the components its
 *   custodians hold. They are XORed inside the security module, so the whole key never travels or
 *   rests in clear; the answer carries check values only. The terminal is signed out: its working
 *   keys came under the old TMK, so it must sign in again.
 * - `POST /api/v1/lmk/rotate`: a new LMK with every stored key re-wrapped under it, while the switch
 *   runs (src/security/rotation.ts).
 */
export function keysApi(api: ApiRoutes, desk: ReferenceDesk, hsm: SecurityModule, custodian: LmkCustodian): void {
  api
    .put('/api/v1/terminals/:tid/tmk', 'admin', async (req) => {
      const tid = req.params[0];
      const terminal = storedRecord<Terminal>(desk, 'terminals', tid);
      const body = bodyOf(req.body, ['components', 'componentKcvs', 'kcv'], TMK_USAGE);
      const problem = componentsProblem(body);
      if (problem !== null) throw new HttpError(400, problem);
      if (terminal.status === 'closed') throw new HttpError(409, `terminal ${tid} is closed`);
      let key;
      // A check value that does not match is the custodians' mistake: a 400 with which one.
      try {
        key = keyFromComponents(hsm, body as Components);
      } catch (err) {
        if (err instanceof SecurityError) throw new HttpError(400, err.message);
        throw err;
      }
      const seq = await checkedChange(desk, 'terminals', tid, { tmk: key.wrapped, signedIn: false }, req.who);
      return { status: 200, body: { seq, tid, kcv: key.kcv, componentKcvs: key.componentKcvs } };
    })
    .post('/api/v1/lmk/rotate', 'admin', async (req) => {
      bodyOf(req.body, [], '{}');
      try {
        return { status: 200, body: await custodian.rotate() };
      } catch (err) {
        if (err instanceof SecurityError && err.code === 'lmk') throw new HttpError(409, err.message);
        throw err;
      }
    });
}
