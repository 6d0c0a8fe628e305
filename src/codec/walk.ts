import { FormatError } from './errors.js';
import type { IsoMessage } from './message.js';
import type { FieldTable, TableEntry } from './spec.js';

/** One dialect's field decoder: reads the field at `p` into `msg`, returns the offset after it. */
export type FieldDecoder<M extends IsoMessage> = (spec: TableEntry, buf: Buffer, p: number, end: number, start: number, msg: M) => number;

/**
 * Decodes every field the bitmap names, in order, and checks nothing trails the last one. Shared
 * by both dialects; only the field decoder differs. Bit 1 (the secondary bitmap flag) is no field.
 * Sets `mabEnd` where the MAC field (`macField`) starts; any FormatError carries the partial message.
 */
export function decodeFields<M extends IsoMessage & { mabEnd: number }>(
  table: FieldTable,
  decodeField: FieldDecoder<M>,
  macField: number,
  buf: Buffer,
  bitmap: number,
  bitmapBytes: number,
  p: number,
  end: number,
  start: number,
  msg: M,
): M {
  msg.mabEnd = end;
  try {
    for (let byte = 0; byte < bitmapBytes; byte++) {
      const bits = buf[bitmap + byte];
      if (bits === 0) continue;
      for (let bit = 0; bit < 8; bit++) {
        const id = byte * 8 + bit + 1;
        if (id === 1 || (bits & (0x80 >> bit)) === 0) continue;
        const spec = table[id];
        if (spec === undefined) throw new FormatError(`F${id}`, bitmap + byte - start, 'bitmap names a field this dialect does not define');
        if (id === macField) msg.mabEnd = p;
        p = decodeField(spec, buf, p, end, start, msg);
      }
    }
  } catch (err) {
    if (err instanceof FormatError) err.partial = msg;
    throw err;
  }
  if (p !== end) {
    const err = new FormatError('TRAILER', p - start, `${end - p} bytes after the last field`);
    err.partial = msg;
    throw err;
  }
  return msg;
}
