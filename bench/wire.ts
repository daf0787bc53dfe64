/**
 * A Socket.IO client that is only the wire: Engine.IO 4 over one WebSocket (`ws`), Socket.IO 5
 * packets as text frames, the main namespace, no binary, no reconnection, no buffering. The load
 * generator's default client: it speaks exactly what socket.io-client puts on the wire, at a
 * fraction of its CPU (the bench's record says how much).
 *
 *   server -> `0{"sid":…,"pingInterval":…}`   Engine.IO open
 *   client -> `40{"token":…}`                 Socket.IO CONNECT with the handshake's auth
 *   server -> `40{"sid":…}` | `44{"message":…}`  connected | refused
 *   server -> `2`, client -> `3`              Engine.IO ping, pong
 *   client -> `42<ack id>["event",data]`      EVENT that wants an ACK
 *   server -> `43<ack id>[data]`              ACK
 *   server -> `42["event",data]`              EVENT
 */
import type net from 'node:net';
import WebSocket from 'ws';

export interface WireSocket {
  /**
   * An event with an acknowledgement, its data already JSON (the generator writes it from a
   * template: one string, no object to build and stringify per message). `onAck(ok)`: whether
   * the server's reply began `{"ok":true` (the protocol's success shape).
   */
  emit(event: string, json: string, onAck: (ok: boolean) => void): void;
  close(): void;
}

/** `onEvent(name, json)`: every server event, its data still a JSON string (the caller decides whether to parse it). */
export function connectWire(url: string, auth: Record<string, unknown>, onEvent: (name: string, frame: string) => void): Promise<WireSocket> {
  // A zero masking key: ws then writes the frame's text as it is instead of copying and masking it
  // (RFC 6455 requires a key, not a random one; the key guards proxies, and there are none on loopback).
  // The server's text is not checked for valid UTF-8 either: the generator reads only ASCII fields of it.
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: false, generateMask: () => {}, skipUTF8Validation: true });
  /**
   * Frames sent in one tick go out in one write: the socket is corked at the tick's first send
   * and uncorked after it (the open loop sends its due messages in one tick).
   */
  let corked = false;
  const uncork = () => { corked = false; (ws as unknown as { _socket: net.Socket })._socket.uncork(); };
  const send = (frame: string) => {
    if (!corked) { corked = true; (ws as unknown as { _socket: net.Socket })._socket.cork(); process.nextTick(uncork); }
    ws.send(frame);
  };
  const acks = new Map<number, (ok: boolean) => void>();
  let nextAck = 0;
  return new Promise((resolve, reject) => {
    let connected = false;
    ws.on('message', (data: Buffer) => {
      const f = data.toString();
      const t = f.charCodeAt(0);
      if (t === 50 /* 2: ping */) return void ws.send('3');
      if (t !== 52 /* 4: message */) {
        if (t === 48 /* 0: open */) ws.send(`40${JSON.stringify(auth)}`);
        return;
      }
      const p = f.charCodeAt(1);
      if (p === 50 /* EVENT, no ack id from this server */) {
        // 42["name",…]: the name is a plain string here.
        const end = f.indexOf('"', 4);
        onEvent(f.slice(4, end), f.slice(end + 2, -1));
      } else if (p === 51 /* ACK */) {
        const open = f.indexOf('[', 2);
        const id = Number(f.slice(2, open));
        const cb = acks.get(id);
        if (cb) { acks.delete(id); cb(f.startsWith('{"ok":true', open + 1)); }
      } else if (p === 48 /* CONNECT */ && !connected) {
        connected = true;
        resolve({
          emit(event, json, onAck) {
            const id = nextAck++;
            acks.set(id, onAck);
            send(`42${id}["${event}",${json}]`);
          },
          close: () => ws.close(),
        });
      } else if (p === 52 /* CONNECT_ERROR */) {
        reject(new Error(`refused: ${f.slice(2)}`));
        ws.close();
      }
    });
    ws.once('error', reject);
    ws.once('close', () => { if (!connected) reject(new Error('closed before connecting')); });
  });
}

/** A string field of a message event's JSON, read without parsing the whole (the fields read here hold no escapes). */
export function field(json: string, name: string): string {
  const key = `"${name}":"`;
  const at = json.indexOf(key);
  if (at < 0) return '';
  const from = at + key.length;
  return json.slice(from, json.indexOf('"', from));
}

/** The number a generated message's text starts with (`<n>|padding`). */
export const numberOf = (text: string) => Number(text.slice(0, text.indexOf('|')));

