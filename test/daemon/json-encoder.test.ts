import fc from 'fast-check';
import { Encoder, PacketType, type Packet } from 'socket.io-parser';
import { describe, expect, it } from 'vitest';
import { JsonEncoder } from '../../src/daemon/gateway/json-encoder.js';

const standard = new Encoder();
const ours = new JsonEncoder();
const nsp = fc.constantFrom('/', '/admin');
const id = fc.option(fc.nat(1e6), { nil: undefined });
// JSON values, undefined among them (an argument of undefined is written as null in the array).
const value = fc.oneof(fc.jsonValue(), fc.constant(undefined), fc.record({ ok: fc.boolean(), data: fc.jsonValue() }));

describe('the JSON-only packet encoder', () => {
  it('writes exactly what Socket.IO\'s encoder writes, for any event, ack and other packet without binary', () => {
    fc.assert(fc.property(fc.string(), fc.array(value, { maxLength: 4 }), nsp, id, (event, args, ns, i) => {
      const packet: Packet = { type: PacketType.EVENT, nsp: ns, data: [event, ...args], ...(i === undefined ? {} : { id: i }) };
      expect(ours.encode(packet)).toEqual(standard.encode(packet));
    }), { numRuns: 500 });
    fc.assert(fc.property(value, nsp, fc.nat(1e6), (reply, ns, i) => {
      const packet: Packet = { type: PacketType.ACK, nsp: ns, data: [reply], id: i };
      expect(ours.encode(packet)).toEqual(standard.encode(packet));
    }), { numRuns: 500 });
    for (const packet of [
      { type: PacketType.CONNECT, nsp: '/', data: { sid: 'abc' } },
      { type: PacketType.CONNECT_ERROR, nsp: '/', data: { message: 'no', data: { code: 'CHAT_ERR_UNAUTHORIZED' } } },
      { type: PacketType.DISCONNECT, nsp: '/' },
    ] as Packet[]) expect(ours.encode(packet)).toEqual(standard.encode(packet));
  });

  it('reuses a message\'s JSON for its ack in the same tick, and makes it again after a change in a later tick', async () => {
    const message = { id: 'm1', seq: 1, text: 'hello "world"\n', reactions: [{ emoji: '👍', count: 1 }] };
    const event: Packet = { type: PacketType.EVENT, nsp: '/', data: ['message:new', message] };
    const ack: Packet = { type: PacketType.ACK, nsp: '/', id: 7, data: [{ ok: true, data: message }] };
    expect(ours.encode(event)).toEqual(standard.encode(event));
    expect(ours.encode(ack)).toEqual(standard.encode(ack));
    // An ack shaped otherwise (another key, another order) is stringified as it is.
    const other: Packet = { type: PacketType.ACK, nsp: '/', id: 8, data: [{ data: message, ok: true }] };
    expect(ours.encode(other)).toEqual(standard.encode(other));
    await new Promise((r) => setImmediate(r));
    message.text = 'edited';
    expect(ours.encode(ack)).toEqual(standard.encode(ack));
    expect(ours.encode(ack)[0]).toContain('"edited"');
  });
});
