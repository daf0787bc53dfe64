import { Encoder, PacketType, type Packet } from 'socket.io-parser';

/**
 * Socket.IO's packet encoder for a server that sends only JSON (files go over REST), writing the
 * same strings as the default encoder, with two costs taken out of every message:
 *  - the default walks every packet looking for binary data (`hasBinary`) before it stringifies
 *    it; chatd never sends any, so the walk is skipped;
 *  - a message goes out twice in the same tick, to its recipients as an event's argument and to
 *    its sender inside the ack (`{ok: true, data: message}`): its JSON is made once, kept until the
 *    tick ends (the same object, unchanged in between), and spliced into the ack.
 * Packets other than events and acks (connect, errors) go through the default encoder.
 */
export class JsonEncoder extends Encoder {
  override encode(packet: Packet): string[] {
    if (packet.type !== PacketType.EVENT && packet.type !== PacketType.ACK) return super.encode(packet);
    let head = String(packet.type);
    if (packet.nsp && packet.nsp !== '/') head += `${packet.nsp},`;
    if (packet.id != null) head += packet.id;
    const data = packet.data as unknown[] | undefined;
    if (data == null) return [head];
    if (!Array.isArray(data)) return [head + JSON.stringify(data)];
    let body = '[';
    for (let i = 0; i < data.length; i++) {
      if (i > 0) body += ',';
      body += packet.type === PacketType.EVENT ? (i === 0 ? json(data[i]) : argument(data[i])) : reply(data[i]);
    }
    return [`${head}${body}]`];
  }
}

/** JSON.stringify as it writes an array element: undefined (and functions) become null. */
const json = (v: unknown): string => JSON.stringify(v) ?? 'null';

/**
 * Each object sent as an event's argument carries its JSON and the tick it was made in, under
 * symbols (JSON.stringify skips them): a lookup costs no table to fill and clear per tick.
 */
const JSON_TEXT = Symbol('json');
const JSON_TICK = Symbol('jsonTick');
type Tagged = { [JSON_TEXT]?: string; [JSON_TICK]?: number };
let tick = 0;
let ticking = false;
const nextTick = () => { tick++; ticking = false; };

function argument(v: unknown): string {
  const s = json(v);
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.isExtensible(v)) {
    const t = v as Tagged;
    t[JSON_TEXT] = s;
    t[JSON_TICK] = tick;
    if (!ticking) { ticking = true; setImmediate(nextTick); }
  }
  return s;
}

/** An ack's value: `{ok: true, data}` with data sent earlier this tick reuses that data's JSON. */
function reply(v: unknown): string {
  if (v !== null && typeof v === 'object' && (v as { ok?: unknown }).ok === true) {
    const data = (v as { data?: unknown }).data as Tagged | null | undefined;
    if (data !== null && typeof data === 'object' && data[JSON_TICK] === tick && ticking) {
      const keys = Object.keys(v);
      if (keys.length === 2 && keys[0] === 'ok' && keys[1] === 'data') return `{"ok":true,"data":${data[JSON_TEXT]!}}`;
    }
  }
  return json(v);
}
