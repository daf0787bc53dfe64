/**
 * Baseline: a bare Socket.IO relay with chatd's event shapes. No auth, no persistence, no
 * validation, compression off. Each message goes to every socket of the recipient and of the
 * sender except the sending one (the same copies chatd delivers), then the sender gets its ack.
 * A message to `#name` goes to the room of that group, which a socket joins when its handshake
 * lists it (auth.groups): every member's socket but the sending one.
 */
import { Server } from 'socket.io';
import { statsServer } from './stats.js';

const port = Number(process.env.PORT ?? 0);
const server = statsServer(() => io.engine.clientsCount);
const io = new Server(server, { perMessageDeflate: false, serveClient: false, maxHttpBufferSize: 64 * 1024 });
let seq = 0;
io.on('connection', (socket) => {
  const user = String((socket.handshake.auth as { user?: string }).user ?? 'anon');
  void socket.join(`user:${user}`);
  const groups = (socket.handshake.auth as { groups?: unknown }).groups;
  if (Array.isArray(groups)) void socket.join(groups.map((g) => `grp:${String(g)}`));
  socket.on('message:send', (p: { to: string; text: string; clientMsgId?: string }, ack?: (r: unknown) => void) => {
    const group = p.to.startsWith('#');
    const m = { id: String(++seq), seq, conversationId: group ? p.to : 'dm', from: user, to: p.to, text: p.text, kind: 'user', createdAt: new Date().toISOString(), clientMsgId: p.clientMsgId };
    if (group) socket.to(`grp:${p.to}`).emit('message:new', m);
    else io.to([`user:${p.to}`, `user:${user}`]).except(socket.id).emit('message:new', m);
    ack?.({ ok: true, data: m });
  });
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`);
});
