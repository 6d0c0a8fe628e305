import type { ParameterKind } from '../../store/index.js';
import { MANAGEMENT, type TypeHandler } from './handler.js';
import { F, RC } from '../../txn/index.js';

/** Largest F62 payload of one download response: items are never split across messages. */
const CHUNK_BYTES = 480;

/**
 * Parameter download (chosen layout): the request's F62, if present, is the ASCII index of the
 * first item wanted (absent: 0). The response F62 is one ASCII status byte, `1` more items follow
 * (ask again from index + count) or `0` this was the last, then ASCII n3 (items in this message),
 * then the items (each a complete TLV record).
 */
export function parameterDownload(kind: ParameterKind): TypeHandler {
  return {
    ...MANAGEMENT,
    prepare(s, ctx) {
      const set = s.parameterSet(kind);
      const from = Number(ctx.request.binary(F.RESERVED_62)?.toString('latin1') || '0');
      if (!Number.isInteger(from) || from < 0) return RC.FORMAT_ERROR;
      const items = set?.items ?? [];
      const chunk: Buffer[] = [];
      let bytes = 0;
      let i = from;
      for (; i < items.length && (chunk.length === 0 || bytes + items[i].length <= CHUNK_BYTES); i++) {
        chunk.push(items[i]);
        bytes += items[i].length;
      }
      const header = Buffer.from((i < items.length ? '1' : '0') + String(chunk.length).padStart(3, '0'), 'latin1');
      ctx.extra.set(F.RESERVED_62, Buffer.concat([header, ...chunk]));
      return RC.APPROVED;
    },
  };
}

/** Download end: the terminal has the current version; the header stops asking it to download. */
export function parameterDownloadEnd(kind: ParameterKind): TypeHandler {
  return {
    ...MANAGEMENT,
    prepare(s, ctx) {
      const version = s.parameterSet(kind)?.version ?? 0;
      ctx.terminalUpdate = { parameterVersions: { ...ctx.terminal!.record.parameterVersions, [kind]: version } };
      return RC.APPROVED;
    },
  };
}

/** Query (chosen layout): F62 = ASCII status `0`, n3 item count, n8 version of the current set. */
export function parameterQuery(kind: ParameterKind): TypeHandler {
  return {
    ...MANAGEMENT,
    prepare(s, ctx) {
      const set = s.parameterSet(kind);
      const text = '0' + String(set?.items.length ?? 0).padStart(3, '0') + String(set?.version ?? 0).padStart(8, '0');
      ctx.extra.set(F.RESERVED_62, Buffer.from(text, 'latin1'));
      return RC.APPROVED;
    },
  };
}
