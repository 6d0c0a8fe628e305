import type { LinkState } from './host-link.js';

/** Cell values of a link's state; 0 is a link whose pipeline has not started it yet. */
const STATES: readonly LinkState[] = ['connecting', 'signing-on', 'up', 'down', 'closed'];
const STATE = 0;
const IN_FLIGHT = 1;
/** Each connection's cells on their own 64-byte line: each is written by its own pipeline's thread. */
const STRIDE = 16;

/** Where one connection of a host link reports itself: the gauges' buffer and its slot (posted to the pipeline's thread). */
export interface LinkGaugeSlot {
  sab: SharedArrayBuffer;
  slot: number;
}

/** What the operations plane shows of one configured host: its connections (one per pipeline) and how many are up. */
export interface HostLinkView {
  name: string;
  /** `up` when every connection is, `down` when none is, else `degraded`. */
  state: 'up' | 'degraded' | 'down';
  up: number;
  connections: number;
  /** Requests awaiting the host's answer, on all its connections. */
  inFlight: number;
  /** Connections by their state (a connection not started yet is `starting`). */
  states: Record<string, number>;
}

/**
 * Host link gauges in shared memory: every pipeline (each worker, or the acceptor's thread) keeps
 * its own connection to each host, so the main thread cannot ask the links; each connection
 * writes its state and requests in flight here, and the monitor and /metrics read them.
 */
export class LinkGauges {
  private readonly cells: Int32Array;

  private constructor(
    private readonly sab: SharedArrayBuffer,
    private readonly names: readonly string[],
    private readonly pipelines: number,
  ) {
    this.cells = new Int32Array(sab);
  }

  static create(names: readonly string[], pipelines: number): LinkGauges {
    return new LinkGauges(new SharedArrayBuffer(Math.max(1, names.length * pipelines) * STRIDE * 4), names, pipelines);
  }

  /** The slot of `pipeline`'s connection to the `link`-th configured host. */
  slot(pipeline: number, link: number): LinkGaugeSlot {
    return { sab: this.sab, slot: pipeline * this.names.length + link };
  }

  read(): HostLinkView[] {
    return this.names.map((name, link) => {
      const view: HostLinkView = { name, state: 'down', up: 0, connections: this.pipelines, inFlight: 0, states: {} };
      for (let pipeline = 0; pipeline < this.pipelines; pipeline++) {
        const at = (pipeline * this.names.length + link) * STRIDE;
        const state = STATES[Atomics.load(this.cells, at + STATE) - 1] ?? 'starting';
        view.states[state] = (view.states[state] ?? 0) + 1;
        if (state === 'up') view.up++;
        view.inFlight += Atomics.load(this.cells, at + IN_FLIGHT);
      }
      view.state = view.up === 0 ? 'down' : view.up === view.connections ? 'up' : 'degraded';
      return view;
    });
  }
}

/** One connection's cells, written by the link on its own thread. */
export class LinkGauge {
  private readonly cells: Int32Array;
  private readonly at: number;

  constructor({ sab, slot }: LinkGaugeSlot) {
    this.cells = new Int32Array(sab);
    this.at = slot * STRIDE;
  }

  set state(state: LinkState) {
    Atomics.store(this.cells, this.at + STATE, STATES.indexOf(state) + 1);
  }

  set inFlight(requests: number) {
    Atomics.store(this.cells, this.at + IN_FLIGHT, requests);
  }
}
