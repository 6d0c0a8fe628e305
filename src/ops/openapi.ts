import { DEFAULT_PAGE_SIZE as SEARCH_PAGE_SIZE, MAX_PAGE_SIZE as SEARCH_MAX_PAGE_SIZE } from '../day-end/index.js';
import { ADMIN_ROLES, type AdminRole } from '../store/index.js';
import { REFERENCE_SPECS, RISK_KINDS, RISK_KIND_NAMES, expected, type FieldSpec, type SpecifiedTable } from '../txn/index.js';
import type { ApiMethod, ApiRoutes, Endpoint } from './http.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './reference-api.js';

/** A JSON Schema object, as OpenAPI 3.0 takes it. */
type Schema = Record<string, unknown>;

/** What the description says of one endpoint; its role comes from the endpoint as registered. */
interface Operation {
  summary: string;
  /** Query-string parameters by name. */
  query?: Record<string, Schema>;
  /** Path parameters whose meaning differs from PATH_PARAMETERS'. */
  path?: Record<string, Schema>;
  body?: Schema;
  /** What a 200 answer holds. */
  answer: string;
  /** The answer may be 409 (a conflict with what is stored). */
  conflict?: string;
}

/** A field of a reference table as a schema, from the same spec the checks use. */
function fieldSchema(table: SpecifiedTable, name: string): Schema {
  const field = REFERENCE_SPECS[table].fields.find((f) => f.name === name);
  if (field === undefined) throw new Error(`no field ${name} in ${table}`);
  return schemaOf(field);
}

function schemaOf(field: FieldSpec): Schema {
  const schema: Schema = { description: expected(field) };
  if (field.type === 'integer') Object.assign(schema, { type: 'integer', minimum: field.min, maximum: field.max });
  else if (field.type === 'boolean') schema.type = 'boolean';
  else if (field.type === 'tlv-list') Object.assign(schema, { type: 'array', maxItems: field.max, items: HEX });
  else if (field.type === 'text-list') Object.assign(schema, { type: 'array', minItems: field.min, maxItems: field.max, items: { type: 'string', pattern: field.pattern?.source } });
  else if (field.enum !== undefined) Object.assign(schema, { type: 'string', enum: field.enum });
  else Object.assign(schema, { type: 'string', pattern: field.pattern?.source, minLength: field.min, maxLength: field.max });
  // Bounds a field does not have are left out.
  return Object.fromEntries(Object.entries(schema).filter(([, v]) => v !== undefined));
}

/** An object of the named fields of a reference table, plus others given here. */
function recordSchema(table: SpecifiedTable, names: readonly string[], required: readonly string[], extra: Record<string, Schema> = {}): Schema {
  const properties = Object.fromEntries(names.map((name) => [name, fieldSchema(table, name)]));
  return { type: 'object', properties: { ...properties, ...extra }, ...(required.length > 0 ? { required } : {}), additionalProperties: false };
}

const HEX: Schema = { type: 'string', pattern: '^([0-9A-Fa-f]{2})+$', description: 'bytes in hex' };
const EMPTY_BODY: Schema = { type: 'object', additionalProperties: false, maxProperties: 0, description: '{}' };
const BUSINESS_DATE: Schema = { type: 'string', pattern: '^(\\d{8}|\\d{4}-\\d{2}-\\d{2})$', description: 'a business date, YYYYMMDD or YYYY-MM-DD' };
const WHOLE: Schema = { type: 'integer', minimum: 0 };
const PAGING = {
  offset: { ...WHOLE, description: 'records to skip', default: 0 },
  limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE, description: 'records in the page' },
};
const ROUTE: Schema = {
  type: 'object',
  required: ['match', 'to'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', description: 'the route id of the URL, if given' },
    match: {
      type: 'object',
      additionalProperties: false,
      description: 'every criterion given must match; empty matches everything',
      properties: {
        binPrefix: { type: 'string', pattern: '^\\d{1,11}$' },
        organisation: { type: 'string', pattern: '^[A-Z]{3}$' },
        types: { type: 'array', minItems: 1, items: { type: 'string' } },
        mids: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^\\d{15}$' } },
        amountMin: WHOLE,
        amountMax: WHOLE,
      },
    },
    to: { type: 'object', description: 'exactly one of {"onUs": true}, {"links": [{"link", "weight" 1–1000}]}, {"reject": "CODE"}' },
    timeoutMs: { type: 'integer', minimum: 100, maximum: 55_000 },
    standIn: { type: 'boolean' },
  },
};
const MERCHANT_FIELDS = ['name', 'status', 'mcc', 'standInLimit', 'account'] as const;
/** A rule's fields in a body: all but its id (the path's) and `cards`, which a body gives in clear. */
const RISK_RULE_FIELDS = REFERENCE_SPECS.riskRules.fields.map((f) => f.name).filter((name) => name !== 'id' && name !== 'cards');
const RISK_RULE: Schema = {
  ...recordSchema('riskRules', RISK_RULE_FIELDS, ['kind'], {
    cards: { type: 'array', minItems: 1, maxItems: 1000, items: { type: 'string', pattern: '^\\d{13,19}$' }, description: "a card-blacklist's cards as card numbers: kept only as PAN tokens (values) and masked (cards)" },
  }),
  description: `a rule of one kind, with that kind's fields (? optional, | one of); code defaults to the first listed. ${RISK_KIND_NAMES.map((kind) => {
    const k = RISK_KINDS[kind];
    const fields = [...(kind === 'card-blacklist' ? ['cards'] : k.required), ...(k.optional ?? []).map((f) => `${f}?`), ...(k.oneOf === undefined ? [] : [k.oneOf.join('|')])];
    return `${kind} {${fields.join(', ')}} → ${k.codes.join('/')}, decided in the ${k.decidedIn}: ${k.summary}.`;
  }).join(' ')}`,
};

/** Path parameters by name, as most endpoints mean them. */
const PATH_PARAMETERS: Record<string, Schema> = {
  mid: fieldSchema('merchants', 'mid'),
  tid: fieldSchema('terminals', 'tid'),
  prefix: fieldSchema('bins', 'prefix'),
  pan: { ...fieldSchema('cards', 'pan'), description: 'the card number: Luhn-valid; never logged, and every answer shows it masked' },
  kind: fieldSchema('parameters', 'kind'),
  date: BUSINESS_DATE,
  id: { type: 'string' },
  name: { ...fieldSchema('channels', 'name'), description: '`terminal` (the terminal listener), `http` (the HTTP channel) or a host link' },
};

/** Every endpoint of /api/v1, by `method pattern`. */
const OPERATIONS: Record<string, Operation> = {
  'get /api/v1/openapi.json': { summary: 'This description of the API', answer: 'an OpenAPI 3.0 document' },

  'get /api/v1/routes': { summary: 'The routing rules, in id order', answer: '{"routes": [route]}' },
  'get /api/v1/routes/:id': { summary: 'One routing rule', path: { id: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,40}$' } }, answer: 'the route' },
  'put /api/v1/routes/:id': { summary: 'Create or replace a routing rule (in force in every worker on the answer)', path: { id: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,40}$' } }, body: ROUTE, answer: '{"seq", "route"}' },
  'delete /api/v1/routes/:id': { summary: 'Remove a routing rule', path: { id: { type: 'string' } }, answer: '{"seq"}' },

  'get /api/v1/risk-rules': { summary: 'The risk rules, in id order (a card blacklist shows PAN tokens and masked numbers, never a card number)', answer: '{"rules": [rule]}' },
  'get /api/v1/risk-rules/:id': { summary: 'One risk rule', path: { id: fieldSchema('riskRules', 'id') }, answer: 'the rule' },
  'put /api/v1/risk-rules/:id': {
    summary: 'Create or replace a risk rule, whole (in force in every worker and in the book on the answer; each refusal is journalled with its id)',
    path: { id: fieldSchema('riskRules', 'id') },
    body: RISK_RULE,
    answer: '{"seq", "rule"}',
  },
  'delete /api/v1/risk-rules/:id': { summary: 'Remove a risk rule', path: { id: fieldSchema('riskRules', 'id') }, answer: '{"seq"}' },

  'post /api/v1/tokens': {
    summary: 'Make an API token with a role (the answer is the only time the token is shown)',
    body: { type: 'object', required: ['role'], additionalProperties: false, properties: { role: { type: 'string', enum: ADMIN_ROLES }, label: { type: 'string', maxLength: 80 } } },
    answer: '{"token", "id", "role", "label", "createdAt", "seq"}',
  },
  'get /api/v1/tokens': { summary: 'The API tokens, without their secrets', answer: '{"tokens": [{"id", "role", "label", "createdAt"}]}' },
  'delete /api/v1/tokens/:id': { summary: 'Revoke a token by its id', path: { id: { type: 'string', description: 'the token id' } }, answer: '{"seq"}' },

  'get /api/v1/audit': { summary: 'Changes made through the API: who, what, the record before and after; newest first', query: { from: BUSINESS_DATE, to: BUSINESS_DATE }, answer: '{"records": [{"seq", "at", "businessDate", "by", "table", "key", "before", "after"}]}' },

  'post /api/v1/day-cut': {
    summary: 'Cut the business day over now',
    body: { type: 'object', additionalProperties: false, properties: { date: { ...BUSINESS_DATE, description: 'the new business date (default: the next day)' } } },
    answer: 'the cut-over: the new business date and its first entry',
    conflict: 'a cut-over is already under way, or the date does not move forward',
  },
  'get /api/v1/backline': { summary: 'Where each ended business day stands in the back line', answer: '{"days": [{"date", "stage", "done", "updatedAt", "detail", "error"}]}' },
  'get /api/v1/transactions': {
    summary: 'Search transactions across today and the archives, newest first',
    query: {
      from: BUSINESS_DATE,
      to: BUSINESS_DATE,
      tid: { type: 'string' },
      mid: { type: 'string' },
      last4: { type: 'string', pattern: '^\\d{4}$', description: "the card number's last 4 digits" },
      rrn: { type: 'string' },
      code: { type: 'string', description: 'response code' },
      type: { type: 'string', description: 'a journal entry type' },
      amount: WHOLE,
      minAmount: WHOLE,
      maxAmount: WHOLE,
      page: { type: 'integer', minimum: 1 },
      size: { type: 'integer', minimum: 1, maximum: SEARCH_MAX_PAGE_SIZE, default: SEARCH_PAGE_SIZE },
      before: { ...WHOLE, description: 'only entries with a seq below this (pins the pages)' },
    },
    answer: 'a page of transactions (card numbers masked)',
  },
  'get /api/v1/reports/:date': { summary: "A business day's report", answer: 'the report: totals by type, terminal, merchant and hour' },

  'get /api/v1/merchants': { summary: 'The merchants, in id order', query: { ...PAGING, status: fieldSchema('merchants', 'status') }, answer: '{"total", "offset", "limit", "merchants": [merchant]}' },
  'get /api/v1/merchants/:mid': { summary: 'One merchant', answer: 'the merchant' },
  'put /api/v1/merchants/:mid': {
    summary: 'Create or replace a merchant; a new one without an account gets merchant:MID, opened at 0',
    body: recordSchema('merchants', MERCHANT_FIELDS, ['name', 'mcc']),
    answer: '{"seq", "merchant"}',
  },
  'patch /api/v1/merchants/:mid': { summary: "Change some of a merchant's fields", body: { ...recordSchema('merchants', MERCHANT_FIELDS, []), minProperties: 1 }, answer: '{"seq", "merchant"}' },
  'delete /api/v1/merchants/:mid': { summary: 'Remove a merchant that has no terminals (its account stays)', answer: '{"seq"}', conflict: 'the merchant still has terminals' },

  'get /api/v1/terminals': {
    summary: 'The terminals, in id order, a page at a time',
    query: { ...PAGING, mid: fieldSchema('terminals', 'mid'), status: fieldSchema('terminals', 'status') },
    answer: '{"total", "offset", "limit", "terminals": [{"tid", "mid", "status", "signedIn", "batch", "lastSeen"}]}',
  },
  'get /api/v1/terminals/:tid': {
    summary: "One terminal: its state, its TMK's check value, its working keys' mode and age (never a key's bytes), its last status upload and request",
    answer: '{"tid", "mid", "status", "signedIn", "batch", "lastSeen", "macAlgorithm", "parameterVersions", "tmkCheckValue", "workingKeys": {"mode", "issuedAt"} | null, "lastStatusUpload"}',
  },
  'put /api/v1/terminals/:tid': {
    summary: 'Create a terminal; its TMK, given in clear, is wrapped under the LMK at once',
    body: recordSchema('terminals', ['mid', 'macAlgorithm', 'batch', 'status'], ['mid', 'tmk'], {
      tmk: { type: 'string', pattern: '^([0-9A-Fa-f]{32}|[0-9A-Fa-f]{48})$', description: 'the terminal master key in clear: a double- or triple-length DES key' },
    }),
    answer: '{"seq", "terminal"}',
    conflict: 'the terminal exists',
  },
  'delete /api/v1/terminals/:tid': { summary: 'Remove a terminal', answer: '{"seq"}' },
  'post /api/v1/terminals/:tid/disable': { summary: 'Suspend a terminal: its every request answers 58 from the next one', body: EMPTY_BODY, answer: '{"seq" (absent when it was suspended already), "terminal"}', conflict: 'the terminal is closed' },
  'post /api/v1/terminals/:tid/enable': { summary: 'Make a suspended terminal active again', body: EMPTY_BODY, answer: '{"seq" (absent when it was active already), "terminal"}', conflict: 'the terminal is closed' },
  'put /api/v1/terminals/:tid/tmk': {
    summary: "Set a terminal's TMK from its custodians' clear components (XORed in the security module); the terminal is signed out and must sign in again",
    body: {
      type: 'object',
      required: ['components'],
      additionalProperties: false,
      properties: {
        components: { type: 'array', minItems: 2, maxItems: 3, items: { type: 'string', pattern: '^([0-9A-Fa-f]{32}|[0-9A-Fa-f]{48})$' }, description: 'the key components in clear, all the same length, no two equal' },
        componentKcvs: { type: 'array', minItems: 2, maxItems: 3, items: { type: 'string', pattern: '^[0-9A-Fa-f]{6}$' }, description: "each component's check value, as on its form" },
        kcv: { type: 'string', pattern: '^[0-9A-Fa-f]{6}$', description: "the key's check value" },
      },
    },
    answer: '{"seq", "tid", "kcv", "componentKcvs"}: check values only',
    conflict: 'the terminal is closed',
  },
  'post /api/v1/lmk/rotate': {
    summary: 'A new LMK: every stored key re-wrapped under it while the switch runs, the old LMK file removed once LMDB holds them on disk',
    body: EMPTY_BODY,
    answer: '{"seq", "checkValue", "previousCheckValue"}',
    conflict: 'the LMK comes from POSP_LMK, or a rotation is under way',
  },

  'get /api/v1/channels': { summary: 'Every access direction (the terminal listener, the HTTP channel, each host link): its switch and what it does now', answer: '{"channels": [{"name", "kind", "switched", "now", "port"?}]}' },
  'post /api/v1/channels/:name/enable': { summary: 'Switch an access direction on (kept across restarts); a listener is opened first', body: EMPTY_BODY, answer: '{"seq" (absent when it was on already), "channel"}', conflict: "the listener's port cannot be opened (nothing changes)" },
  'post /api/v1/channels/:name/disable': { summary: 'Switch an access direction off (kept across restarts): a listener closes its port and lets work in flight finish; routing skips a host link', body: EMPTY_BODY, answer: '{"seq" (absent when it was off already), "channel"}' },

  'get /api/v1/bins': { summary: 'The card BINs, in prefix order', answer: '{"bins": [bin]}' },
  'get /api/v1/bins/:prefix': { summary: 'One card BIN', answer: 'the BIN' },
  'put /api/v1/bins/:prefix': { summary: 'Create or replace a card BIN (in force in every worker at once)', body: recordSchema('bins', ['issuer', 'organisation', 'onUs', 'domestic', 'panLength'], ['issuer', 'organisation', 'onUs', 'domestic']), answer: '{"seq", "bin"}' },
  'delete /api/v1/bins/:prefix': { summary: 'Remove a card BIN', answer: '{"seq"}' },

  'get /api/v1/cards/:pan': { summary: 'One on-us card (number masked, no PIN verifier)', answer: '{"pan" (masked), "expiry", "status", "account"}' },
  'put /api/v1/cards/:pan': {
    summary: 'Create an on-us card and its account, opened with the opening balance',
    body: recordSchema('cards', ['expiry', 'status'], ['expiry', 'pin'], {
      pin: { type: 'string', pattern: '^\\d{4,12}$', description: 'the PIN: kept only as a verifier made by the security module' },
      openingBalance: { ...WHOLE, default: 0, description: 'fen' },
    }),
    answer: '{"seq", "card", "account"}',
    conflict: 'the card exists',
  },
  'put /api/v1/cards/:pan/status': { summary: "Change a card's status", body: recordSchema('cards', ['status'], ['status']), answer: '{"seq", "card"}' },
  'get /api/v1/accounts/:id': {
    summary: "An account: balance, holds, what is available, the opening balance",
    path: { id: { type: 'string', pattern: '^[a-z]+:[0-9A-Za-z]{1,40}$', description: 'KIND:ID, e.g. merchant:898100012340001' } },
    answer: '{"id", "kind", "balance", "held", "available", "opening", "currency"}',
  },

  'get /api/v1/parameters': { summary: 'The parameter sets terminals download, items in hex', answer: '{"parameters": [{"kind", "version", "items"}]}' },
  'get /api/v1/parameters/:kind': { summary: 'One parameter set', answer: '{"kind", "version", "items"}' },
  'put /api/v1/parameters/:kind': { summary: 'Store a new version of a parameter set', body: recordSchema('parameters', ['version', 'items'], ['version', 'items']), answer: '{"seq", "parameters"}' },

  'get /api/v1/clients': { summary: 'The HTTP channel clients (merchants\' systems), never their secrets', answer: '{"clients": [{"id", "mid", "tid", "status", "createdAt"}]}' },
  'get /api/v1/clients/:id': { summary: 'One HTTP channel client, without its secret', path: { id: fieldSchema('apiClients', 'id') }, answer: '{"id", "mid", "tid", "status", "createdAt"}' },
  'put /api/v1/clients/:id': {
    summary: 'Create an HTTP channel client of a merchant, with its virtual terminal (the one named, or a new APInnnnn with a random TMK); its signing secret is in this answer and never shown again',
    path: { id: fieldSchema('apiClients', 'id') },
    body: recordSchema('apiClients', ['mid', 'tid'], ['mid']),
    answer: '{"seq", "client", "secret" (64 hex digits: HMAC-SHA256 key of X-Posp-Signature), "terminalCreated"}',
    conflict: "the client exists, or the terminal is another client's virtual terminal",
  },
  'patch /api/v1/clients/:id': { summary: "Change a client's status (a suspended or closed client's requests are refused, 403)", path: { id: fieldSchema('apiClients', 'id') }, body: recordSchema('apiClients', ['status'], ['status']), answer: '{"seq", "client"}' },
};

/** `GET /api/v1/openapi.json` (viewer): the description of every endpoint registered on `api`. */
export function openApi(api: ApiRoutes): void {
  let document: object | undefined;
  // Built at the first request, when every endpoint module has registered.
  api.get('/api/v1/openapi.json', () => ({ status: 200, body: (document ??= openApiDocument(api.endpoints)) }));
}

/**
 * The OpenAPI 3.0 document: each described endpoint with the role it was registered with. An
 * endpoint registered without a description still appears (`x-undescribed`), and one described but
 * not registered has no `x-role`: the document never hides a difference from what the server does.
 */
export function openApiDocument(endpoints: readonly Endpoint[]): object {
  const registered = new Map(endpoints.map((e) => [`${e.method} ${e.pattern}`, e]));
  const paths: Record<string, Record<string, object>> = {};
  for (const key of new Set([...Object.keys(OPERATIONS), ...registered.keys()])) {
    const [method, pattern] = key.split(' ') as [ApiMethod, string];
    (paths[pattern.replace(/:(\w+)/g, '{$1}')] ??= {})[method] = operationObject(pattern, OPERATIONS[key], registered.get(key)?.role);
  }
  return {
    openapi: '3.0.3',
    info: { title: 'posp admin API', version: '1', description: 'Reference data, tokens, audit, day end and search of the posp switch. Every endpoint needs a bearer token whose role is at least the operation\'s x-role (viewer < operator < admin).' },
    security: [{ bearerAuth: [] }],
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'an API token, or the bootstrap token (POSP_ADMIN_TOKEN)' } },
      schemas: { Error: { type: 'object', required: ['error'], properties: { error: { type: 'string', description: 'why the request was refused' } } } },
    },
    paths,
  };
}

function operationObject(pattern: string, op: Operation | undefined, role: AdminRole | undefined): object {
  const names = [...pattern.matchAll(/:(\w+)/g)].map((m) => m[1]);
  const parameters = [
    ...names.map((name) => ({ name, in: 'path', required: true, schema: op?.path?.[name] ?? PATH_PARAMETERS[name] ?? { type: 'string' } })),
    ...Object.entries(op?.query ?? {}).map(([name, schema]) => ({ name, in: 'query', required: false, schema })),
  ];
  const error = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
  const responses: Record<string, object> = {
    200: { description: op?.answer ?? 'not described', content: { 'application/json': { schema: { type: 'object' } } } },
    400: error('a malformed request or a change the switch refuses, with the reason'),
    401: error('no valid token'),
    ...(role !== undefined && role !== 'viewer' ? { 403: error(`the token's role is below ${role}`) } : {}),
    ...(names.length > 0 ? { 404: error('nothing stored under that key') } : {}),
    ...(op?.conflict !== undefined ? { 409: error(op.conflict) } : {}),
    503: error('no admin token is configured, or the change is durable but not yet readable'),
  };
  return {
    summary: op?.summary ?? 'not described',
    tags: [pattern.split('/')[3]],
    ...(role !== undefined ? { 'x-role': role, description: `Needs the ${role} role.` } : {}),
    ...(op === undefined ? { 'x-undescribed': true } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(op?.body !== undefined ? { requestBody: { required: true, content: { 'application/json': { schema: op.body } } } } : {}),
    responses,
  };
}
