/**
 * Baseline: a raw `ws` relay, the floor under Socket.IO. Frames are JSON:
 * client → {t:'send', to, text, c} and server → {t:'msg', m} / {t:'ack', c, m}.
 * Delivers the same copies as chatd: every socket of the recipient and of the sender, except
 * the sending one, which gets the message in its ack.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import { statsServer } from './stats.js';

const port = Number(process.env.PORT ?? 0);
const byUser = new Map<string, Set<WebSocket>>();
const server = statsServer(() => wss.clients.size);
const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 64 * 1024 });
let seq = 0;
wss.on('connection', (ws, req) => {
  const user = new URL(req.url ?? '/', 'http://x').searchParams.get('user') ?? 'anon';
  let set = byUser.get(user);
  if (!set) byUser.set(user, (set = new Set()));
  set.add(ws);
  ws.on('close', () => set!.delete(ws));
  ws.on('message', (data) => {
    const p = JSON.parse(String(data)) as { t: string; to: string; text: string; c?: string };
    if (p.t !== 'send') return;
    const m = { id: String(++seq), seq, conversationId: 'dm', from: user, to: p.to, text: p.text, kind: 'user', createdAt: new Date().toISOString(), clientMsgId: p.c };
    const frame = JSON.stringify({ t: 'msg', m });
    for (const u of new Set([p.to, user])) for (const s of byUser.get(u) ?? []) if (s !== ws) s.send(frame);
    ws.send(JSON.stringify({ t: 'ack', c: p.c, m }));
  });
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`);
});
