import type { Services } from './services.js';
import type { TxnContext } from './context.js';

/**
 * A step of the pipeline: it returns `''` to go on, the response code that ends the request,
 * `CLOSE` to drop the connection (the frame was too broken to answer), `PENDING` when its answer
 * comes later (it has set `ctx.waitMs`, and whoever holds `ctx.ticket` hands the answer to
 * `Services.resume`), or `LEG` when the book must journal the request before it goes on (a host
 * leg's first entry; the book's reply resumes it). The book then journals the outcome and the
 * response goes out.
 */
export type Step = (s: Services, ctx: TxnContext) => string;

export const CLOSE = 'close';
export const PENDING = 'pending';
export const LEG = 'leg';
