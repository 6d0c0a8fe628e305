/**
 * The one error a codec raises for bad input. `field` names where decoding stopped
 * (`LEN`, `TPDU`, `HEADER`, `MTI`, `BITMAP`, `F35`, `TRAILER`), `offset` is the byte
 * offset from the start of the frame, so an operator can find the byte in a trace.
 */
export class FormatError extends Error {
  readonly field: string;
  readonly offset: number;
  readonly reason: string;
  /** What had been decoded before the error: enough, sometimes, to answer `30`. */
  partial?: unknown;

  constructor(field: string, offset: number, reason: string) {
    super(`${field}: ${reason} at byte ${offset}`);
    this.name = 'FormatError';
    this.field = field;
    this.offset = offset;
    this.reason = reason;
  }
}
