import type { KeyMode } from '../../store/index.js';
import { MANAGEMENT, type TypeHandler } from './handler.js';

/** Sign-in: fresh working keys under the TMK in F62, the batch to use in 60.2. */
export const signIn: TypeHandler = {
  session: false, indexed: false, card: false, pin: false, amount: false, rrn: true, authCode: false,
  prepare(p, ctx) {
    const f60 = ctx.request.text(60) ?? '';
    const mode = f60.slice(8, 11) as KeyMode;
    const terminal = ctx.terminal!.record;
    const keys = p.hsm.issueWorkingKeys(terminal.tmk, mode);
    ctx.extra.set(62, keys.f62);
    ctx.extra.set(60, '00' + terminal.batch + f60.slice(8));
    ctx.terminalUpdate = { signedIn: true, keys: { mode, pik: keys.pik, mak: keys.mak, tdk: keys.tdk, issuedAt: ctx.at } };
    return '00';
  },
};

export const signOff: TypeHandler = {
  session: false, indexed: false, card: false, pin: false, amount: false, rrn: false, authCode: false,
  prepare(_p, ctx) {
    ctx.terminalUpdate = { signedIn: false };
    return '00';
  },
};

export const echo: TypeHandler = {
  session: false, indexed: false, card: false, pin: false, amount: false, rrn: false, authCode: false,
  prepare: () => '00',
};

/** POS status upload (0820 362): F62 is kept with the time for monitoring. */
export const statusUpload: TypeHandler = {
  ...MANAGEMENT,
  prepare(_p, ctx) {
    ctx.statusUpload = ctx.request.binary(62) ?? Buffer.alloc(0);
    return '00';
  },
};
