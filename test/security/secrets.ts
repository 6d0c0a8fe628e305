import { luhnValid } from '../../src/txn/index.js';

/** Epoch milliseconds (pino's `time`) are 13 digits and a tenth of them pass Luhn: those within 30 years of now are not card numbers. */
function epochMs(digits: string): boolean {
  return digits.length === 13 && Math.abs(Number(digits) - Date.now()) < 30 * 365 * 86_400_000;
}

/**
 * What must never be in a log line, a monitor frame or an HTTP answer: card numbers in full, keys
 * (and dumps that may hold them). Card account ids (`card:` and a UUID's 32 hex digits) are names.
 */
export function secretsIn(text: string): string[] {
  const found: string[] = [];
  for (const [digits] of text.matchAll(/(?<![0-9])[0-9]{13,19}(?![0-9])/g)) if (luhnValid(digits) && !epochMs(digits)) found.push(digits);
  for (const [hex] of text.matchAll(/(?<![0-9A-Fa-f]|card:)[0-9A-Fa-f]{32,}(?![0-9A-Fa-f])/g)) found.push(hex);
  return found;
}
