import type { MacAlgorithm } from '../security/index.js';
import type { AccountKind, ChannelSwitch, ParameterKind, ReferenceTable, Status } from '../store/index.js';
import { luhnValid, maskPan } from './card.js';
import { RISK_CODES, RISK_KIND_NAMES, riskRuleProblem } from './risk-rules.js';

/**
 * What a record of each reference table may hold, as data: one field spec per field, read by one
 * checker (`referenceProblem`). The admin API checks a change with it before asking the book, and
 * the book checks again as the authority, so a bad record is refused with the same reason either
 * way and changes nothing. Routes and tokens keep their own checks (`routeProblem`, the book's).
 */

/** The tables described here: every reference table but routes and tokens. */
export type SpecifiedTable = Exclude<ReferenceTable, 'routes' | 'tokens'>;

/** A record of another table by key, as the checker's caller sees the reference data (undefined: none). */
export type ReferenceRecords = (table: SpecifiedTable, key: string) => unknown;

export type FieldType = 'text' | 'integer' | 'boolean' | 'bytes' | 'tlv-list' | 'text-list';

export interface FieldSpec {
  readonly name: string;
  readonly type: FieldType;
  /** Present in the record once the change is applied (a change may leave it out when the record has it). */
  readonly required?: true;
  /** text, and each item of a text-list: the whole value matches; `shape` says what that means in a refusal. */
  readonly pattern?: RegExp;
  readonly enum?: readonly string[];
  /** integer: bounds of the value; text, bytes: of its length; tlv-list, text-list: of its item count. */
  readonly min?: number;
  readonly max?: number;
  /** A valid value in words, for refusals and the API description. */
  readonly shape?: string;
  /** The key of a record of this table, which must exist. */
  readonly refers?: SpecifiedTable;
  /** Once set, never set to another value. */
  readonly fixed?: true;
  /** Never shown in an answer or a refusal (a key wrapped under the LMK, a PIN verifier). */
  readonly secret?: true;
  /** A card number: shown masked, first 6 and last 4 digits. */
  readonly masked?: true;
}

export interface TableSpec {
  /** What one record is called in refusals. */
  readonly noun: string;
  /** The field that holds the record's key (the key must be a valid value of it). */
  readonly key: string;
  readonly fields: readonly FieldSpec[];
  /** Checks of a new record beyond its fields. */
  readonly created?: (key: string, records: ReferenceRecords) => string | null;
  /** Checks of the whole record as the change leaves it, against the record before (undefined: a new one) and the records it refers to. */
  readonly rules?: readonly ((record: Fields, before: Fields | undefined, records: ReferenceRecords) => string | null)[];
  /** Why a record may not be removed, when it may not. */
  readonly kept?: string;
  /** Why an existing record may not be changed at all, when it may not. */
  readonly unchangeable?: (key: string) => string;
  /** A change is the whole record and replaces the stored one (a rule of another kind keeps no field of the one before). */
  readonly whole?: true;
}

type Fields = Record<string, unknown>;

const STATUSES = ['active', 'suspended', 'closed'] as const satisfies readonly Status[];
export const CHANNEL_STATES = ['enabled', 'disabled'] as const satisfies readonly ChannelSwitch['state'][];
export const CARD_STATUSES = [...STATUSES, 'lost', 'stolen'] as const;
const MAC_ALGORITHMS = ['cup-ecb', 'x9.19', 'x9.9'] as const satisfies readonly MacAlgorithm[];
const ORGANISATIONS = ['CUP', 'VIS', 'MCC', 'JCB', 'AMX'] as const;
const PARAMETER_KINDS = ['magstripe', 'ca-key', 'aid'] as const satisfies readonly ParameterKind[];
/** Accounts the admin API may open: a card's, a merchant's settlement account. */
const OPENED_KINDS = ['card', 'merchant'] as const satisfies readonly AccountKind[];

/** A parameter item must fit one download message (F62 chunks of 480 bytes; items are never split). */
const MAX_PARAMETER_ITEM_BYTES = 480;

const NAME = { type: 'text', min: 1, max: 40, pattern: /^[^\u0000-\u001f\u007f]*$/, shape: '1–40 printable characters' } as const;
const MID = { type: 'text', pattern: /^\d{15}$/, shape: '15 digits' } as const;
const FEN = { type: 'integer', min: 0, max: Number.MAX_SAFE_INTEGER, shape: 'a whole number of fen, 0 or more' } as const;
const TID = { type: 'text', pattern: /^[0-9A-Z]{8}$/, shape: '8 digits or capital letters' } as const;
const MCC = { type: 'text', pattern: /^\d{4}$/, shape: '4 digits (a merchant category code)' } as const;
const TIME = { type: 'text', pattern: /^([01]\d|2[0-3]):[0-5]\d$/, shape: 'a local time HH:MM' } as const;

export const REFERENCE_SPECS: Readonly<Record<SpecifiedTable, TableSpec>> = {
  merchants: {
    noun: 'merchant',
    key: 'mid',
    fields: [
      { name: 'mid', ...MID, required: true },
      { name: 'name', ...NAME, required: true },
      { name: 'status', type: 'text', enum: STATUSES, required: true },
      { name: 'mcc', ...MCC, required: true },
      { name: 'account', type: 'text', min: 1, max: 64, refers: 'accounts', required: true },
      { name: 'standInLimit', ...FEN },
    ],
  },
  terminals: {
    noun: 'terminal',
    key: 'tid',
    fields: [
      { name: 'tid', ...TID, required: true },
      { name: 'mid', ...MID, refers: 'merchants', required: true },
      { name: 'status', type: 'text', enum: STATUSES, required: true },
      // IV, tag and a DES key of 8–24 bytes (src/security/lmk.ts).
      { name: 'tmk', type: 'bytes', min: 36, max: 52, shape: 'a key wrapped under the LMK', secret: true, required: true },
      { name: 'macAlgorithm', type: 'text', enum: MAC_ALGORITHMS, required: true },
      { name: 'batch', type: 'text', pattern: /^\d{6}$/, shape: '6 digits', required: true },
      { name: 'signedIn', type: 'boolean', required: true },
    ],
  },
  bins: {
    noun: 'card BIN',
    key: 'prefix',
    // Created or replaced whole: a BIN set again without panLength takes any length again.
    whole: true,
    fields: [
      { name: 'prefix', type: 'text', pattern: /^\d{3,11}$/, shape: '3–11 digits', required: true },
      { name: 'issuer', ...NAME, required: true },
      { name: 'organisation', type: 'text', enum: ORGANISATIONS, required: true },
      { name: 'onUs', type: 'boolean', required: true },
      { name: 'domestic', type: 'boolean', required: true },
      { name: 'panLength', type: 'integer', min: 13, max: 19, shape: 'the length of its card numbers, 13–19 digits' },
    ],
  },
  cards: {
    noun: 'card',
    key: 'pan',
    fields: [
      { name: 'pan', type: 'text', pattern: /^\d{13,19}$/, shape: '13–19 digits', masked: true, required: true },
      { name: 'expiry', type: 'text', pattern: /^\d\d(0[1-9]|1[0-2])$/, shape: 'YYMM', required: true },
      { name: 'status', type: 'text', enum: CARD_STATUSES, required: true },
      { name: 'account', type: 'text', min: 1, max: 64, refers: 'accounts', fixed: true, required: true },
      { name: 'pinVerifier', type: 'bytes', min: 16, max: 16, shape: 'a 16-byte PIN verifier', secret: true, required: true },
    ],
    created: (pan, records) => {
      if (!luhnValid(pan)) return `the card number ${maskPan(pan)} fails its Luhn check`;
      const bin = longestBin(pan, records);
      if (bin === undefined) return `no card BIN matches ${maskPan(pan)}`;
      return bin.onUs === true ? null : `the card BIN ${String(bin.prefix)} is not on-us: only on-us cards are kept here`;
    },
    kept: 'a card is never removed: set its status to closed',
  },
  billers: {
    noun: 'biller',
    key: 'code',
    fields: [
      { name: 'code', type: 'text', pattern: /^[0-9A-Z]{4}$/, shape: '4 digits or capital letters', required: true },
      { name: 'name', ...NAME, required: true },
      { name: 'account', type: 'text', min: 1, max: 64, required: true },
    ],
  },
  parameters: {
    noun: 'parameter set',
    key: 'kind',
    fields: [
      { name: 'kind', type: 'text', enum: PARAMETER_KINDS, required: true },
      // Terminals are told the version in 8 digits (F62 of a parameter query).
      { name: 'version', type: 'integer', min: 1, max: 99_999_999, shape: 'a whole number 1–99999999', required: true },
      { name: 'items', type: 'tlv-list', min: 0, max: 999, shape: 'a list of at most 999 items, each one or more BER-TLV records', required: true },
    ],
    // A terminal downloads a set again only when it sees a higher version.
    rules: [(set, before) => (before !== undefined && (set.version as number) <= (before.version as number) ? `version must be above the stored version ${String(before.version)}` : null)],
    kept: 'a parameter set is never removed: store a higher version',
  },
  channels: {
    noun: 'channel',
    key: 'name',
    fields: [
      // `terminal` (the terminal listener), `http` (the HTTP channel) or a host link's name.
      { name: 'name', type: 'text', pattern: /^[A-Za-z0-9_.-]{1,40}$/, shape: '1–40 letters, digits, _ . -', required: true },
      { name: 'state', type: 'text', enum: CHANNEL_STATES, required: true },
    ],
  },
  apiClients: {
    noun: 'API client',
    key: 'id',
    fields: [
      { name: 'id', type: 'text', pattern: /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/, shape: '1–40 letters, digits, _ . - (a letter or digit first)', required: true },
      { name: 'mid', ...MID, refers: 'merchants', required: true },
      // The virtual terminal the HTTP channel sends the client's requests as; its request keys and batches are its own.
      { name: 'tid', ...TID, refers: 'terminals', fixed: true, required: true },
      { name: 'status', type: 'text', enum: STATUSES, required: true },
      // IV, tag and 64 hex digits, in base64 (src/security/lmk.ts).
      { name: 'secret', type: 'text', pattern: /^[A-Za-z0-9+/]{120,160}={0,2}$/, shape: 'a secret sealed under the LMK', secret: true, required: true },
      { name: 'createdAt', type: 'integer', min: 0, max: Number.MAX_SAFE_INTEGER, shape: 'epoch milliseconds', required: true },
    ],
    // The client pays as its virtual terminal: a terminal of another merchant would journal its sales there.
    rules: [
      (client, _before, records) => {
        const terminal = records('terminals', String(client.tid)) as { mid?: unknown } | undefined;
        return terminal?.mid === client.mid ? null : `terminal ${String(client.tid)} belongs to merchant ${String(terminal?.mid)}, not to the client's merchant ${String(client.mid)}`;
      },
    ],
  },
  accounts: {
    noun: 'account',
    key: 'id',
    fields: [
      { name: 'id', type: 'text', pattern: /^(card|merchant):[0-9A-Za-z]{1,40}$/, shape: 'card:ID or merchant:ID', required: true },
      { name: 'kind', type: 'text', enum: OPENED_KINDS, required: true },
      { name: 'balance', ...FEN, required: true },
      { name: 'held', type: 'integer', min: 0, max: 0, shape: '0: nothing is held on a new account', required: true },
      { name: 'currency', type: 'text', enum: ['156'], required: true },
      { name: 'opening', ...FEN, required: true },
    ],
    rules: [
      // The ledger's audit and the day-end snapshots count every balance from its opening.
      (account) => (account.balance === account.opening ? null : 'a new account opens with its balance equal to opening'),
      (account) => (String(account.id).startsWith(`${String(account.kind)}:`) ? null : `a ${String(account.kind)} account's id starts with ${String(account.kind)}:`),
    ],
    unchangeable: (id) => `the accounts reference table only opens accounts: ${id} is open, and only postings move its balance`,
  },
  riskRules: {
    noun: 'risk rule',
    key: 'id',
    whole: true,
    // Which of these a rule has is its kind's to say (src/txn/risk-rules.ts).
    fields: [
      { name: 'id', type: 'text', pattern: /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/, shape: '1–40 letters, digits, _ . - (a letter or digit first)', required: true },
      { name: 'kind', type: 'text', enum: RISK_KIND_NAMES, required: true },
      { name: 'code', type: 'text', enum: RISK_CODES },
      { name: 'mid', ...MID, refers: 'merchants' },
      { name: 'mcc', ...MCC },
      { name: 'maxAmount', type: 'integer', min: 1, max: Number.MAX_SAFE_INTEGER, shape: 'a whole number of fen, 1 or more' },
      { name: 'maxCount', type: 'integer', min: 1, max: 1_000_000, shape: 'a whole number 1–1000000' },
      { name: 'maxTries', type: 'integer', min: 1, max: 9, shape: 'a whole number 1–9' },
      { name: 'bin', type: 'text', pattern: /^\d{3,6}$/, shape: 'the first 3–6 digits of the card number' },
      { name: 'cardType', type: 'text', enum: ['domestic', 'foreign'] },
      { name: 'values', type: 'text-list', min: 1, max: 1000, pattern: /^[0-9A-Za-z+/=]{8,24}$/, shape: '1–1000 card tokens, terminal ids or merchant ids, as the kind says' },
      { name: 'cards', type: 'text-list', min: 1, max: 1000, pattern: /^\d{6}\*{3,9}\d{4}$/, shape: '1–1000 masked card numbers' },
      { name: 'mccs', type: 'text-list', min: 1, max: 100, pattern: MCC.pattern, shape: '1–100 merchant category codes of 4 digits' },
      { name: 'from', ...TIME },
      { name: 'to', ...TIME },
    ],
    rules: [riskRuleProblem],
  },
};

export function isSpecifiedTable(table: string): table is SpecifiedTable {
  return Object.hasOwn(REFERENCE_SPECS, table);
}

/**
 * Why setting `key` of `table` to `value` (fields set over the record `before`; null removes it)
 * is refused, or null when it may be done. `records` finds what other fields refer to (a terminal's
 * merchant, a card's account and BIN). Card numbers in reasons are masked; secrets never appear.
 */
export function referenceProblem(table: SpecifiedTable, key: string, value: unknown, before: unknown, records: ReferenceRecords): string | null {
  const spec = REFERENCE_SPECS[table];
  const keyField = fieldOf(spec, spec.key);
  const badKey = keyProblem(table, key);
  if (badKey !== null) return badKey;
  const stored = isFields(before) ? before : undefined;
  if (stored !== undefined && spec.unchangeable) return spec.unchangeable(key);
  if (value === null) {
    if (stored === undefined) return `no ${spec.noun} ${shownKey(table, key)} to remove`;
    return spec.kept ?? null;
  }
  if (!isFields(value)) return `a ${spec.noun} is a record of fields`;
  for (const [name, v] of Object.entries(value)) {
    const field = spec.fields.find((f) => f.name === name);
    if (field === undefined) return `unknown field ${name}`;
    const problem = valueProblem(field, v);
    if (problem !== null) return problem;
    if (field.fixed && stored?.[name] !== undefined && stored[name] !== v) return `a ${spec.noun}'s ${name} is set once and never changed`;
    if (field.refers !== undefined && records(field.refers, v as string) === undefined) return `no ${REFERENCE_SPECS[field.refers].noun} ${shown(field, v)}`;
  }
  const record: Fields = spec.whole ? value : { ...stored, ...value };
  if (record[spec.key] !== key) return `${spec.key} ${shown(keyField, record[spec.key])} is not the key ${shown(keyField, key)}`;
  for (const field of spec.fields) if (field.required && record[field.name] === undefined) return `a ${spec.noun} needs ${field.name}`;
  if (stored === undefined && spec.created) {
    const problem = spec.created(key, records);
    if (problem !== null) return problem;
  }
  for (const rule of spec.rules ?? []) {
    const problem = rule(record, stored, records);
    if (problem !== null) return problem;
  }
  return null;
}

/** Why `key` cannot be a key of `table` (it must be a valid value of the key field), or null. */
export function keyProblem(table: SpecifiedTable, key: string): string | null {
  return fieldProblem(table, REFERENCE_SPECS[table].key, key);
}

/** Why `value` cannot be the field `name` of a record of `table` (a query's filter, say), or null. */
export function fieldProblem(table: SpecifiedTable, name: string, value: unknown): string | null {
  return valueProblem(fieldOf(REFERENCE_SPECS[table], name), value);
}

/** A key as answers, refusals and the journal's request key show it: card numbers masked. */
export function shownKey(table: string, key: string): string {
  return isSpecifiedTable(table) && fieldOf(REFERENCE_SPECS[table], REFERENCE_SPECS[table].key).masked ? maskPan(key) : key;
}

/**
 * A record as an answer may show it: only its described fields, secret ones left out, card numbers
 * masked. Fields the pipeline keeps beside them (a terminal's working keys) are never shown.
 */
export function shownRecord(table: string, record: unknown): unknown {
  if (!isSpecifiedTable(table) || !isFields(record)) return record;
  const shownFields: Fields = {};
  for (const [name, v] of Object.entries(record)) {
    const field = REFERENCE_SPECS[table].fields.find((f) => f.name === name);
    if (field === undefined || field.secret) continue;
    shownFields[name] = field?.masked && typeof v === 'string' ? maskPan(v) : v;
  }
  return shownFields;
}

function fieldOf(spec: TableSpec, name: string): FieldSpec {
  const field = spec.fields.find((f) => f.name === name);
  if (field === undefined) throw new Error(`the ${spec.noun} spec has no field ${name}`);
  return field;
}

function isFields(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** Why `v` is not a valid value of `field`, or null. */
function valueProblem(field: FieldSpec, v: unknown): string | null {
  const wrong = `${field.name} must be ${expected(field)}${field.secret || field.type === 'bytes' || field.type.endsWith('-list') ? '' : `, got ${shown(field, v)}`}`;
  switch (field.type) {
    case 'text':
      if (typeof v !== 'string') return wrong;
      if (field.enum !== undefined) return field.enum.includes(v) ? null : wrong;
      if (field.pattern !== undefined && !field.pattern.test(v)) return wrong;
      return outOfBounds(field, v.length) ? wrong : null;
    case 'integer':
      return Number.isSafeInteger(v) && !outOfBounds(field, v as number) ? null : wrong;
    case 'boolean':
      return typeof v === 'boolean' ? null : wrong;
    case 'bytes':
      return v instanceof Uint8Array && !outOfBounds(field, v.length) ? null : wrong;
    case 'text-list':
      if (!Array.isArray(v) || outOfBounds(field, v.length)) return wrong;
      for (let i = 0; i < v.length; i++) {
        const item: unknown = v[i];
        // Never quoted: a card number given where a token belongs must not reach a refusal.
        if (typeof item !== 'string' || (field.pattern !== undefined && !field.pattern.test(item))) return `${field.name}[${i}] is not valid: ${field.name} must be ${expected(field)}`;
      }
      return null;
    case 'tlv-list': {
      if (!Array.isArray(v) || outOfBounds(field, v.length)) return wrong;
      for (let i = 0; i < v.length; i++) {
        const item: unknown = v[i];
        if (!(item instanceof Uint8Array) || item.length === 0 || item.length > MAX_PARAMETER_ITEM_BYTES) return `${field.name}[${i}] must be 1–${MAX_PARAMETER_ITEM_BYTES} bytes`;
        const problem = tlvProblem(item);
        if (problem !== null) return `${field.name}[${i}]: ${problem}`;
      }
      return null;
    }
  }
}

function outOfBounds(field: FieldSpec, n: number): boolean {
  return (field.min !== undefined && n < field.min) || (field.max !== undefined && n > field.max);
}

/** What a valid value of `field` is, in words. */
export function expected(field: FieldSpec): string {
  if (field.enum !== undefined) return `one of ${field.enum.join(', ')}`;
  if (field.shape !== undefined) return field.shape;
  if (field.type === 'text') return field.min !== undefined || field.max !== undefined ? `text of ${field.min ?? 0}–${field.max} characters` : 'text';
  if (field.type === 'boolean') return 'true or false';
  return field.type === 'integer' ? 'a whole number' : 'bytes';
}

/** A value as a refusal may quote it: card numbers masked, long text cut short. */
function shown(field: FieldSpec, v: unknown): string {
  if (field.masked) return typeof v === 'string' ? JSON.stringify(maskPan(v)) : 'something other than text';
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The longest BIN among the records that starts `pan` (BINs are 3–11 digits, as the switch matches them). */
function longestBin(pan: string, records: ReferenceRecords): Fields | undefined {
  for (let length = Math.min(11, pan.length - 1); length >= 3; length--) {
    const bin = records('bins', pan.slice(0, length));
    if (isFields(bin)) return bin;
  }
  return undefined;
}

/** Why `item` is not one or more complete BER-TLV records (tag, length, value), or null. */
function tlvProblem(item: Uint8Array): string | null {
  for (let at = 0; at < item.length; ) {
    // A tag is one byte, or more when its low five bits are all set (then each byte with its high bit set is followed by another).
    let i = at + 1;
    if ((item[at] & 0x1f) === 0x1f) {
      while (i < item.length && (item[i] & 0x80) !== 0) i++;
      i++;
    }
    if (i >= item.length) return `a TLV record at byte ${at} ends before its length`;
    // Short form below 0x80; 0x81 and 0x82 give the length in one or two more bytes.
    const first = item[i++];
    let length = first;
    if (first === 0x81 || first === 0x82) {
      const size = first - 0x80;
      if (i + size > item.length) return `a TLV record at byte ${at} ends inside its length`;
      length = size === 1 ? item[i] : (item[i] << 8) | item[i + 1];
      i += size;
    } else if (first >= 0x80) {
      return `the TLV record at byte ${at} has a length form other than short, 81 or 82`;
    }
    if (i + length > item.length) return `the TLV record at byte ${at} is longer than the item`;
    at = i + length;
  }
  return null;
}
