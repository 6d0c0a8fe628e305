/** What a command prints through. */
export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** One request to the admin API, as the command line asked for it. */
export interface AdminCall {
  method: 'GET' | 'PUT' | 'DELETE' | 'POST';
  path: string;
  body?: string;
}

/** Where the running switch's admin API is, and the token to show it. */
export interface AdminTarget {
  url: string;
  token: string | undefined;
}

const DEFAULT_ADMIN = 'http://127.0.0.1:8080';
/** An admin request answers once the change is durable and applied: seconds at worst. */
const REQUEST_TIMEOUT_MS = 30_000;

/** `--admin` and `--token`, else POSP_ADMIN and POSP_ADMIN_TOKEN, else the default port and no token. */
export function adminOf(options: Map<string, string>): AdminTarget {
  return {
    url: (options.get('admin') ?? process.env.POSP_ADMIN ?? DEFAULT_ADMIN).replace(/\/+$/, ''),
    token: options.get('token') ?? process.env.POSP_ADMIN_TOKEN,
  };
}

/** Makes the call; prints the answer (0), or the switch's reason or why it could not be reached (1). */
export async function callAdmin({ url: admin, token }: AdminTarget, call: AdminCall, io: Io): Promise<number> {
  let res: Response;
  try {
    res = await fetch(admin + call.path, {
      method: call.method,
      headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...(call.body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: call.body,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    io.err(`cannot reach the switch at ${admin}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    return 1;
  }
  const text = await res.text();
  const answer = parseAnswer(text);
  if (!res.ok) {
    const reason = typeof answer === 'object' && answer !== null && 'error' in answer ? String(answer.error) : text;
    io.err(`refused (HTTP ${res.status}): ${reason}`);
    return 1;
  }
  io.out(JSON.stringify(answer));
  return 0;
}

function parseAnswer(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
