import { ListenError } from '../channels/index.js';
import type { ChannelSwitch, StateStore } from '../store/index.js';
import { HttpError, type ApiAnswer, type ApiRequest, type ApiRoutes } from './http.js';
import type { ReferenceDesk } from './reference.js';
import { bodyOf } from './reference-api.js';

/** A listener the switch can open and close while it runs (the terminal port, the HTTP channel). */
export interface Listener {
  readonly port: number;
  /** What it does now: `draining` while connections opened before it was switched off finish. */
  readonly state: 'enabled' | 'draining' | 'disabled';
  /** Opens it again; rejects with a ListenError, and stays off, when its port cannot be opened. */
  enable(): Promise<void>;
  /** Closes it to new connections; work in flight finishes. */
  disable(): void;
}

/** An access direction as the API, the console and the monitor show it. */
export interface ChannelStatus {
  name: string;
  kind: 'listener' | 'host-link';
  /** As switched (`posp channel enable|disable`), kept across restarts. */
  switched: ChannelSwitch['state'];
  /** What it does now: a listener's enabled, draining or disabled; a host link's up, degraded or down. */
  now: string;
  port?: number;
}

/** The switch's access directions: its listeners by name and its host links' states now. */
export interface AccessDirections {
  readonly listeners: ReadonlyMap<string, Listener>;
  /** Each configured host link and its state now (up, degraded, down). */
  hostLinks(): { name: string; state: string }[];
}

/** Every access direction with its switch (as `state` holds it) and what it does now, listeners first. */
export function channelStatuses(state: StateStore, access: AccessDirections): ChannelStatus[] {
  const switched = (name: string): ChannelSwitch['state'] => state.channels.get(name)?.state ?? 'enabled';
  return [
    ...[...access.listeners].map(([name, l]): ChannelStatus => ({ name, kind: 'listener', switched: switched(name), now: l.state, port: l.port })),
    ...access.hostLinks().map((l): ChannelStatus => ({ name: l.name, kind: 'host-link', switched: switched(l.name), now: switched(l.name) === 'disabled' ? 'disabled' : l.state })),
  ];
}

/**
 * `/api/v1/channels`: every access direction, and switching one on or off while the switch runs
 * (operator). The switch is a journalled reference change (table `channels`), so it holds across
 * restarts and reaches every worker, where a switched-off host link is skipped by routing. A
 * listener is opened before its switch is journalled (a port that cannot be opened is a 409 with
 * the reason, and nothing changes) and closed after.
 */
export function channelsApi(api: ApiRoutes, desk: ReferenceDesk, access: AccessDirections): void {
  api
    .get('/api/v1/channels', () => ({ status: 200, body: { channels: channelStatuses(desk.state, access) } }))
    .post('/api/v1/channels/:name/enable', 'operator', (req) => switchChannel(desk, access, req, 'enabled'))
    .post('/api/v1/channels/:name/disable', 'operator', (req) => switchChannel(desk, access, req, 'disabled'));
}

async function switchChannel(desk: ReferenceDesk, access: AccessDirections, req: ApiRequest, state: ChannelSwitch['state']): Promise<ApiAnswer> {
  const name = req.params[0];
  bodyOf(req.body, [], '{}');
  const listener = access.listeners.get(name);
  if (listener === undefined && !access.hostLinks().some((l) => l.name === name)) {
    throw new HttpError(404, `no channel ${JSON.stringify(name)}: the channels are ${channelStatuses(desk.state, access).map((c) => c.name).join(', ')}`);
  }
  if (listener !== undefined && state === 'enabled') {
    try {
      await listener.enable();
    } catch (err) {
      if (err instanceof ListenError) throw new HttpError(409, err.message);
      throw err;
    }
  }
  const seq = (desk.state.channels.get(name)?.state ?? 'enabled') === state ? undefined : await desk.change('channels', name, { name, state }, req.who);
  if (listener !== undefined && state === 'disabled') listener.disable();
  return { status: 200, body: { ...(seq === undefined ? {} : { seq }), channel: channelStatuses(desk.state, access).find((c) => c.name === name) } };
}
