import type { KeyMode } from '../../store/index.js';
import { MANAGEMENT, type TypeHandler } from './handler.js';
import { F, RC } from '../../txn/index.js';

/** Sign-in: fresh working keys under the TMK in F62, the batch to use in 60.2. */
export const signIn: TypeHandler = {
  session: false, indexed: false, card: false, pin: false, amount: false, rrn: true, authCode: false,
  prepare(s, ctx) {
    const f60 = ctx.request.text(F.RESERVED_60) ?? '';
    const mode = f60.slice(8, 11) as KeyMode;
    const terminal = ctx.terminal!.record;
    const keys = s.hsm.issueWorkingKeys(terminal.tmk, mode);
    ctx.extra.set(F.RESERVED_62, keys.f62);
    ctx.extra.set(F.RESERVED_60, '00' + terminal.batch + f60.slice(8));
    ctx.terminalUpdate = { signedIn: true, keys: { mode, pik: keys.pik, mak: keys.mak, tdk: keys.tdk, issuedAt: ctx.at } };
    return RC.APPROVED;
  },
};

export const signOff: TypeHandler = {
  session: false, indexed: false, card: false, pin: false, amount: false, rrn: false, authCode: false,
  prepare(_s, ctx) {
    ctx.terminalUpdate = { signedIn: false };
    return RC.APPROVED;
  },
};

export const echo: TypeHandler = {
  session: false, indexed: false, card: false, pin: false, amount: false, rrn: false, authCode: false,
  prepare: () => RC.APPROVED,
};

/** POS status upload (0820 362): F62 is kept with the time for monitoring. */
export const statusUpload: TypeHandler = {
  ...MANAGEMENT,
  prepare(_s, ctx) {
    ctx.statusUpload = ctx.request.binary(F.RESERVED_62) ?? Buffer.alloc(0);
    return RC.APPROVED;
  },
};
