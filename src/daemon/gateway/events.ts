import type { Logger } from 'pino';
import type { z } from 'zod';
import client from 'prom-client';
import { ChatError, deleteSchema, makeEditSchema, reactSchema, receiptSchema, syncSchema, typingSchema, type Ack, type ClientToServerEvents, type SendInput } from '../../protocol/index.js';
import { classify } from '../errors.js';
import { SEND_BUCKETS, type SendMetrics } from '../services/send-metrics.js';
import { TallyHistogram } from '../services/tally-histogram.js';
import type { FanoutService } from '../services/fanout.js';
import type { MessageService } from '../services/messages.js';
import type { TypingService } from '../services/typing.js';
import { parse } from '../validation.js';
import { endSocket, type ChatSocket } from './socket.js';

/** Socket events answered with a coded error, by event (`unknown` for a name that is none) and code; one counter per registry. */
export function socketErrors(registry: client.Registry): client.Counter<'event' | 'code'> {
  const name = 'chatd_socket_errors_total';
  return (registry.getSingleMetric(name) as client.Counter<'event' | 'code'> | undefined)
    ?? new client.Counter({ name, help: 'Socket events answered with an error, by event and code', labelNames: ['event', 'code'], registers: [registry] });
}

/** Refusals (over a rate limit) a connection may collect per window before it is closed. */
const MAX_REFUSALS = 100;
const REFUSAL_WINDOW_MS = 10_000;

export interface EventDeps {
  log: Logger;
  messages: MessageService;
  typing: TypingService;
  fanout: FanoutService;
  /** Validates a message:send payload (the schema, with its fast path). */
  parseSend: (value: unknown) => SendInput;
  /** The server's text limit (CHAT_MAX_MESSAGE_LENGTH), for edits. */
  maxMessageLength: number;
  metrics: client.Registry;
  /** Sends counted and timed by transport (shared with the REST route). */
  sends: SendMetrics;
  isClosing: () => boolean;
}

type Listener = (this: ChatSocket, payload: unknown, ack: unknown) => void;

/**
 * The client events: each validated, handed to its service and answered through its ack, with a
 * coded error when it fails. One catch-all listener per socket dispatches through the table this
 * returns instead of one listener per event: a socket's listener table is a dictionary-mode object,
 * and each entry costs memory on every idle connection.
 */
export function eventTable(deps: EventDeps): Map<string, Listener> {
  const { log, messages } = deps;
  const rejected = socketErrors(deps.metrics);
  /** Per event, from its arrival to its answer; `code` is "ok" or the error code it was answered with. */
  const eventDuration = new TallyHistogram({ name: 'chatd_socket_event_duration_seconds', help: 'Socket event handling time, arrival to ack', labelNames: ['event', 'code'], buckets: SEND_BUCKETS, registers: [deps.metrics] });

  /** Answers a failed event: coded error to the ack, counted, logged when internal. */
  const fail = (socket: ChatSocket, event: string, reply: ((r: Ack<never>) => void) | undefined, err: unknown, started?: number) => {
    const ce = classify(err);
    const { reqId, userId } = socket.data;
    if (ce.code === 'CHAT_ERR_INTERNAL') log.error({ err, reqId, userId, socketId: socket.id, event }, 'socket handler failed');
    rejected.inc({ event, code: ce.code });
    if (started !== undefined) {
      const ms = performance.now() - started;
      eventDuration.observe({ event, code: ce.code }, ms / 1000);
      if (log.isLevelEnabled('debug')) log.debug({ reqId, userId, event, code: ce.code, ms: Math.round(ms * 10) / 10 }, 'socket event');
    }
    reply?.({ ok: false, error: ce.toBody() });
    if (ce.code === 'CHAT_ERR_RATE_LIMITED') overLimit(socket, event);
  };

  /**
   * A connection that keeps sending past its limits is closed: every refusal still costs this
   * node a decode and an answer, so a flood ends with its sender, who may reconnect and slow down.
   */
  const overLimit = (socket: ChatSocket, event: string) => {
    if (socket.disconnected) return;
    const now = Date.now();
    const d = socket.data;
    if (now - d.refusedSince > REFUSAL_WINDOW_MS) {
      d.refusedSince = now;
      d.refused = 0;
    }
    if (++d.refused > MAX_REFUSALS) {
      rejected.inc({ event, code: 'closed_for_flooding' });
      log.info({ reqId: d.reqId, userId: d.userId, refused: d.refused }, 'closed a connection that kept sending past its rate limits');
      endSocket(socket, new ChatError('CHAT_ERR_RATE_LIMITED', `More than ${MAX_REFUSALS} events over the rate limits in ${REFUSAL_WINDOW_MS / 1000} s: this connection is closed; slow down, then reconnect`));
    }
  };

  /**
   * Event handlers are made once and shared by every socket (each is called with the socket as
   * `this`), so an idle connection carries no closures of ours. `check` is a schema, or a
   * function that validates and throws a coded error; `succeeded` hears of each event answered ok
   * (with its seconds).
   */
  const handler = <P, R>(event: keyof ClientToServerEvents, check: z.ZodType<P> | ((payload: unknown) => P), fn: (socket: ChatSocket, payload: P) => Promise<R>, succeeded?: (seconds: number) => void): Listener => {
    // The success series, bound once: observing through it skips hashing the labels per event.
    const okDuration = eventDuration.labels({ event, code: 'ok' });
    return function (this: ChatSocket, payload: unknown, ack: unknown) {
      const socket = this;
      const reply = typeof ack === 'function' ? (ack as (r: Ack<R>) => void) : undefined;
      const started = performance.now();
      try {
        if (deps.isClosing()) return fail(socket, event, reply, new ChatError('CHAT_ERR_SHUTTING_DOWN'));
        const { expiresAt } = socket.data;
        if (expiresAt !== null && Date.now() >= expiresAt) {
          fail(socket, event, reply, new ChatError('CHAT_ERR_TOKEN_EXPIRED'));
          return endSocket(socket, new ChatError('CHAT_ERR_TOKEN_EXPIRED'));
        }
        fn(socket, typeof check === 'function' ? check(payload) : parse(check, payload)).then((data) => {
          const ms = performance.now() - started;
          okDuration.observe(ms / 1000);
          succeeded?.(ms / 1000);
          // Per event at debug only: at info, a busy node would log every message it carries.
          if (log.isLevelEnabled('debug')) log.debug({ reqId: socket.data.reqId, userId: socket.data.userId, event, code: 'ok', ms: Math.round(ms * 10) / 10 }, 'socket event');
          reply?.({ ok: true, data });
        }, (err) => fail(socket, event, reply, err, started));
      } catch (err) {
        fail(socket, event, reply, err, started);
      }
    };
  };

  return new Map<string, Listener>([
    ['message:send', handler('message:send', deps.parseSend, (socket, input) => messages.send(socket.data.username, input, socket.id), (seconds) => deps.sends.sent('socket', seconds))],
    ['message:sync', handler('message:sync', syncSchema, async (socket, input) => messages.sync(socket.data.username, input.cursors, input.limit))],
    ['message:edit', handler('message:edit', makeEditSchema(deps.maxMessageLength), (socket, input) => messages.edit(socket.data.username, input, socket.id))],
    ['message:delete', handler('message:delete', deleteSchema, (socket, input) => messages.delete(socket.data.username, input, socket.id))],
    ['message:react', handler('message:react', reactSchema, (socket, input) => messages.react(socket.data.username, input, socket.id))],
    ['typing:update', handler('typing:update', typingSchema, (socket, input) => deps.typing.update(socket.data.username, input))],
    ['receipt:update', handler('receipt:update', receiptSchema, async (socket, input) => {
      const { event, moved, recipients } = await messages.receipt(socket.data.username, input.conversationId, input);
      // Relayed only when a marker moved: repeating one costs nobody else anything.
      if (moved) deps.fanout.toUsers(recipients, 'receipt:update', event);
      return event;
    })],
  ]);
}
