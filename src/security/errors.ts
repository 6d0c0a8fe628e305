// Typed errors of the security module. Callers map them to answers (F39 99, a refused
// sign-in, a start-up failure) by `code`, never by parsing messages.

export type SecurityErrorCode =
  | 'key-length' // a clear key is not 8, 16 or 24 bytes
  | 'key-unwrap' // a wrapped key is truncated, tampered with or wrapped under another LMK
  | 'key-block' // an F62 key block has the wrong length for its mode, or a KCV does not match
  | 'key-kcv' // a key received under a key-encrypting key does not match the check value sent with it
  | 'lmk' // the local master key is missing or malformed
  | 'track' // a packed track is too short to carry an encrypted block
  | 'pin-format'; // a PIN block does not decode (see PinFormatError)

export class SecurityError extends Error {
  readonly code: SecurityErrorCode;

  constructor(code: SecurityErrorCode, message: string) {
    super(message);
    this.name = 'SecurityError';
    this.code = code;
  }
}

/** Why a clear ISO format 0 PIN block was rejected. */
export type PinFormatReason =
  | 'block' // the encrypted block is not 8 bytes
  | 'control' // first nibble is not 0 (not format 0)
  | 'length' // PIN length nibble outside 4..12
  | 'digit' // a PIN nibble is not 0-9
  | 'pad' // a pad nibble is not F
  | 'pan'; // the PAN cannot be used (non-digits, or fewer than 13 digits)

export class PinFormatError extends SecurityError {
  readonly reason: PinFormatReason;

  constructor(reason: PinFormatReason) {
    super('pin-format', `PIN block format error: ${PIN_FORMAT_MESSAGES[reason]}`);
    this.name = 'PinFormatError';
    this.reason = reason;
  }
}

const PIN_FORMAT_MESSAGES: Record<PinFormatReason, string> = {
  block: 'a PIN block is 8 bytes',
  control: 'control nibble is not 0 (ISO format 0 expected)',
  length: 'PIN length is not 4..12',
  digit: 'PIN contains a non-decimal nibble',
  pad: 'pad nibble is not F',
  pan: 'PAN must be 13..19 decimal digits',
};
