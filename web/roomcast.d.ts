// Types of roomcast.js, the roomcast client (served by the server at /roomcast.d.ts).

export type TransportName = 'websocket' | 'sse' | 'longpoll';

export interface RoomcastOptions {
  /** JWT sent as ?token= (or, on a --dev-auth server, `user` names you unverified). */
  token?: string;
  user?: string;
  /** Order to try; default all three. Aliases: ws, poll. */
  transports?: Array<TransportName | 'ws' | 'poll'>;
  minDelayMs?: number;        // reconnect backoff floor (500)
  maxDelayMs?: number;        // reconnect backoff cap (20000)
  byeSpreadMs?: number;       // after a bye: reconnect_ms plus up to this (8000)
  connectTimeoutMs?: number;  // a transport without a first object by then failed (10000)
  idleMs?: number;            // a working transport silent this long is reconnected (30000)
  rememberMs?: number;        // a fallback that worked is tried first for this long (600000)
  probeMs?: number;           // on a fallback, WebSocket is tried again this often (60000)
  holeWaitMs?: number;        // a seq hole is filled from history after this (250)
  pageSize?: number;          // history page size for filling holes (100)
  /** Injected for Node or tests; default the global ones. */
  WebSocket?: any;
  fetch?: typeof fetch;
  storage?: { getItem(k: string): string | null; setItem(k: string, v: string): void; removeItem(k: string): void };
  watchOnline?: boolean;      // listen to online/offline events (true)
}

export interface MessageEvent {
  type: 'msg'; room: string; seq: number; id: string; user: string; text: string; ts: number;
  prio?: number; kind?: string; badges?: string[]; name?: string; role?: string;
}
export interface RetractEvent { type: 'retract'; room: string; seq: number; at: number; reason?: string; ts?: number }
export interface ClearEvent { type: 'clear'; room: string; seq: number }
export interface GapEvent { type: 'gap'; room: string; from: number; to: number; epoch?: string; reset?: boolean }
export interface StateEvent {
  type: 'state'; room: string; online: number; unique_5m?: number; hot?: boolean;
  modes: { slow_secs: number; subscribers_only: boolean; emote_only: boolean; unique?: boolean; auto?: boolean };
}
export interface ReactionsEvent { type: 'reactions'; room: string; window_ms: number; counts: Record<string, number> }
export interface SampledEvent { type: 'sampled'; room: string; shown: number; total: number }
export interface ErrorEvent { type: 'error'; code: string; message?: string; retry_ms?: number; cid?: string }
export interface WelcomeEvent {
  type: 'welcome'; room: string; epoch: string; seq: number; online: number; user: string;
  modes: StateEvent['modes'];
}
export interface ByeEvent { type: 'bye'; reconnect_ms: number }
export interface Ack {
  type: 'ack'; cid: string; seq: number; id: string;
  duplicate?: boolean; masked?: boolean; held?: boolean; sampled?: boolean;
}
export interface ConnectionState {
  state: 'connecting' | 'connected' | 'disconnected';
  transport: TransportName | null;
  room: string;
}

export interface RoomEvents {
  message: MessageEvent;
  retract: RetractEvent;
  clear: ClearEvent;
  /** reset: true means the room's history was lost: forget what you show, seqs start again. */
  gap: GapEvent;
  state: StateEvent;
  reactions: ReactionsEvent;
  sampled: SampledEvent;
  error: ErrorEvent;
  welcome: WelcomeEvent;
  bye: ByeEvent;
  connection: ConnectionState;
  reconnect: { delayMs: number };
}

export class RoomcastError extends Error {
  code: string;
  status?: number;
  retryMs?: number;
}

export interface RoomOptions {
  /** Resume after this seq (of `epoch`) instead of joining at the head. */
  since?: number;
  epoch?: string;
  /** On a first join: the last N messages. */
  history?: number;
}

export class Room {
  readonly name: string;
  /** The room's epoch and the last seq delivered in order (null before the first join). */
  readonly epoch: string | null;
  readonly last: number | null;
  readonly state: ConnectionState['state'];
  readonly transport: TransportName | null;
  on<K extends keyof RoomEvents>(type: K, fn: (ev: RoomEvents[K]) => void): () => void;
  off<K extends keyof RoomEvents>(type: K, fn: (ev: RoomEvents[K]) => void): void;
  /** Resolves with the ack once sequenced; retried across reconnects with the same cid. */
  send(text: string, opts?: { prio?: boolean; cid?: string }): Promise<Ack>;
  /** Over a working WebSocket only; false (nothing sent) on SSE, long-poll or while reconnecting. */
  react(emoji: string): boolean;
  close(): void;
}

export class Roomcast {
  /**
   * One address, or several nodes of one fleet (`--redis`): each room moves to the next address
   * whenever a round of transports fails or a working connection drops, and resumes there.
   */
  constructor(baseUrl?: string | string[], opts?: RoomcastOptions);
  room(name: string, opts?: RoomOptions): Room;
  on(type: 'state', fn: (s: ConnectionState) => void): () => void;
  off(type: 'state', fn: (s: ConnectionState) => void): void;
  close(): void;
}

export function backoffDelay(n: number, minMs: number, maxMs: number, rnd?: () => number): number;
export function eventSeq(o: MessageEvent | RetractEvent): number;
export function sseParser(onEvent: (data: string) => void): (chunk: string) => void;
