import client from 'prom-client';
import { TallyHistogram } from './tally-histogram.js';

/** Where a send came in: a socket's message:send, or POST /v1/messages (the CLI, bots). */
export type SendTransport = 'socket' | 'http';

/** The same buckets as the socket event histogram, so the two can be read side by side. */
export const SEND_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];

export interface SendMetrics {
  /** A send acknowledged (durable) after `seconds`, over `transport`. */
  sent(transport: SendTransport, seconds: number): void;
}

/**
 * Sends, whichever way they came: counted and timed from arrival to answer, by transport, so the
 * dashboard and the send-latency alert see the CLI's sends as well as the TUI's. The series are
 * bound once: observing through them skips hashing the labels per message.
 */
export function sendMetrics(registry: client.Registry): SendMetrics {
  const count = new client.Counter({ name: 'chatd_messages_sent_total', help: 'Messages acknowledged to senders (durable), by transport: socket or http', labelNames: ['transport'], registers: [registry] });
  const duration = new TallyHistogram({ name: 'chatd_message_send_duration_seconds', help: 'A send from its arrival to its acknowledgement (durable), by transport: socket or http', labelNames: ['transport'], buckets: SEND_BUCKETS, registers: [registry] });
  const bound = {
    socket: { count: count.labels({ transport: 'socket' }), duration: duration.labels({ transport: 'socket' }) },
    http: { count: count.labels({ transport: 'http' }), duration: duration.labels({ transport: 'http' }) },
  };
  return {
    sent(transport, seconds) {
      const b = bound[transport];
      b.count.inc();
      b.duration.observe(seconds);
    },
  };
}
