import { toHex } from './bcd.js';
import type { IsoMessage } from './message.js';

/** Field values for display: digits and text as they are, binary as uppercase hex. */
export function messageToJson(msg: IsoMessage): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const id of msg.present()) {
    const v = msg.fields[id]!;
    fields[String(id)] = typeof v === 'string' ? v : toHex(v);
  }
  return fields;
}
