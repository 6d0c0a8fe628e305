// LMK rotation: which stored fields hold something wrapped under the LMK, and the order in which a
// rotation moves them to a new LMK so that wherever it stops (a crash, a refusal) no key is lost.
//
// 1. Files: the old LMK is kept as `lmk.previous`, a fresh one (carrying the derived secrets PIN
//    verifiers and PAN tokens are made under) replaces `lmk.key`. From here every loader holds
//    both: the new one wraps, either unwraps.
// 2. Every holder in the process (each pipeline worker, the acceptor's thread) takes both.
// 3. The book journals the rotation: entries after it carry keys only under the new LMK (the book
//    re-wraps what a worker proposed under the old one), and applying the entry to LMDB re-wraps
//    every stored key in that same LMDB transaction.
// 4. Once LMDB holds that entry, synced to disk, the old LMK file is removed.
// A crash before 4 leaves both files: the next start loads both and runs 3 and 4 again.

import type { Effects, ReversalAdvice, Terminal, WorkingKeys } from '../store/records.js';
import { SecurityError } from './errors.js';
import { finishLmkRotation, lmkRotationUnfinished, loadLmk, startLmkRotation, type Lmk, type LmkSource } from './lmk.js';

/**
 * Re-wraps stored keys under an LMK's current key (those under its previous one), counting what it
 * moved and what neither key opens: those are left as they were, unusable as they already were.
 */
export class KeyRewrap {
  rewrapped = 0;
  unreadable = 0;

  constructor(private readonly lmk: Lmk) {}

  /** The check value of the LMK keys are moved to. */
  get checkValue(): string {
    return this.lmk.checkValue;
  }

  /** A terminal's fields that hold keys (its TMK, its working keys) under the current LMK: a changed copy, or undefined when nothing moved. */
  terminal<T extends { tmk?: Uint8Array; keys?: WorkingKeys }>(record: T): T | undefined {
    const tmk = record.tmk && this.blob(record.tmk);
    const keys = record.keys && this.workingKeys(record.keys);
    if (tmk === undefined && keys === undefined) return undefined;
    return { ...record, ...(tmk ? { tmk } : {}), ...(keys ? { keys } : {}) };
  }

  /** An advice whose sealed card number moved to the current LMK, or undefined. */
  advice(record: ReversalAdvice): ReversalAdvice | undefined {
    if (record.sealedPan === undefined) return undefined;
    const sealed = this.blob(Buffer.from(record.sealedPan, 'base64'));
    return sealed && { ...record, sealedPan: sealed.toString('base64') };
  }

  /** An entry's effects, in place, before it is journalled: every key it carries under the current LMK. */
  effects(effects: Effects): void {
    const keys = effects.terminal?.keys && this.workingKeys(effects.terminal.keys);
    if (keys) effects.terminal = { ...effects.terminal, keys };
    const reference = effects.reference;
    if (reference?.table === 'terminals' && reference.value !== null && typeof reference.value === 'object') {
      const value = this.terminal(reference.value as Partial<Terminal>);
      if (value) effects.reference = { ...reference, value };
    }
    const advice = effects.advice?.record && this.advice(effects.advice.record);
    if (advice) effects.advice = { ...effects.advice!, record: advice };
  }

  private workingKeys(keys: WorkingKeys): WorkingKeys | undefined {
    const pik = this.blob(keys.pik);
    const mak = this.blob(keys.mak);
    const tdk = keys.tdk && this.blob(keys.tdk);
    if (!pik && !mak && !tdk) return undefined;
    return { ...keys, ...(pik ? { pik } : {}), ...(mak ? { mak } : {}), ...(tdk ? { tdk } : {}) };
  }

  private blob(wrapped: Uint8Array): Buffer | undefined {
    try {
      const moved = this.lmk.rewrap(wrapped);
      if (moved) this.rewrapped++;
      return moved;
    } catch (err) {
      if (!(err instanceof SecurityError)) throw err;
      this.unreadable++;
      return undefined;
    }
  }
}

/** What a rotation came to: its journal entry, and the LMKs by check value. */
export interface RotationResult {
  seq: number;
  checkValue: string;
  previousCheckValue: string;
}

/** The parts of the switch (running, or opened on a stopped data directory) a rotation works through. */
export interface RotationParties {
  /** Every holder of the LMK takes `keyring` (the new LMK wraps, both unwrap); resolves once each has. */
  adopt(keyring: Lmk): Promise<void>;
  /** Journals the rotation through the book; resolves to its entry's seq once durable. */
  journal(): Promise<number>;
  /** Resolves once LMDB holds entry `seq` (its keys re-wrapped), synced to disk. */
  settled(seq: number): Promise<void>;
}

/** The switch's keeper of the LMK file: rotates it, and finishes a rotation a crash interrupted. */
export class LmkCustodian {
  private busy = false;

  constructor(
    private readonly source: LmkSource,
    private readonly parties: RotationParties,
  ) {}

  /** A new LMK, every stored key re-wrapped under it; refused (SecurityError 'lmk') for an LMK from POSP_LMK or while one runs. */
  async rotate(): Promise<RotationResult> {
    const file = this.file();
    return this.exclusively(async () => {
      // An interrupted rotation is finished first: its old LMK is the only key to what is still under it.
      if (lmkRotationUnfinished(file)) await this.complete(file);
      const keyring = startLmkRotation(file);
      await this.parties.adopt(keyring);
      return this.complete(file, keyring);
    });
  }

  /** At start: finishes a rotation a crash left with both LMK files (every holder loaded both); undefined when there is none. */
  async finishInterrupted(): Promise<RotationResult | undefined> {
    if (this.source.env || !this.source.file || !lmkRotationUnfinished(this.source.file)) return undefined;
    const file = this.source.file;
    return this.exclusively(() => this.complete(file));
  }

  private file(): string {
    if (this.source.env) throw new SecurityError('lmk', 'the LMK comes from POSP_LMK: posp keeps no LMK file to rotate; rotate it where it is kept');
    if (!this.source.file) throw new SecurityError('lmk', 'no LMK file to rotate');
    return this.source.file;
  }

  private async exclusively(work: () => Promise<RotationResult>): Promise<RotationResult> {
    if (this.busy) throw new SecurityError('lmk', 'an LMK rotation is under way');
    this.busy = true;
    try {
      return await work();
    } finally {
      this.busy = false;
    }
  }

  /** Steps 3 and 4: the journalled re-wrap, then the old LMK file removed. */
  private async complete(file: string, keyring?: Lmk): Promise<RotationResult> {
    const seq = await this.parties.journal();
    await this.parties.settled(seq);
    const ring = keyring ?? loadLmk({ file });
    const result = { seq, checkValue: ring.checkValue, previousCheckValue: ring.previousCheckValue ?? ring.checkValue };
    finishLmkRotation(file);
    return result;
  }
}

/**
 * Tells pipeline workers that the LMK files changed, and hears back from each: Int32 cell 0 is the
 * LMK generation, cell 1 + i the generation worker i holds. A worker reads the generation before it
 * loads the files, so what it acknowledges it has.
 */
export class LmkGeneration {
  private readonly cells: Int32Array;

  private constructor(readonly sab: SharedArrayBuffer) {
    this.cells = new Int32Array(sab);
  }

  static create(workers: number): LmkGeneration {
    return new LmkGeneration(new SharedArrayBuffer(4 * (1 + workers)));
  }

  static attach(sab: SharedArrayBuffer): LmkGeneration {
    return new LmkGeneration(sab);
  }

  get current(): number {
    return Atomics.load(this.cells, 0);
  }

  /** A new generation; returns it. */
  advance(): number {
    return Atomics.add(this.cells, 0, 1) + 1;
  }

  /** Worker `index` holds the LMK of `generation`. */
  hold(index: number, generation: number): void {
    Atomics.store(this.cells, 1 + index, generation);
  }

  /** Resolves true once every worker holds `generation` (false after `ms`). */
  async heldByAll(generation: number, workers: number, ms: number): Promise<boolean> {
    for (const until = Date.now() + ms; ; await new Promise((r) => setTimeout(r, 2))) {
      let all = true;
      for (let i = 0; i < workers; i++) if (Atomics.load(this.cells, 1 + i) < generation) all = false;
      if (all) return true;
      if (Date.now() > until) return false;
    }
  }
}
