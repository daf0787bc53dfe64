/**
 * The smallest Socket.IO relay that delivers the dm scenario: one room per user, the message
 * forwarded as received, an empty ack. Only for comparison with socketio-relay.ts (the baseline),
 * which builds chatd's message shape and delivers to the sender's other sockets too.
 */
import { Server } from 'socket.io';
import { statsServer } from './stats.js';

const server = statsServer(() => io.engine.clientsCount);
const io = new Server(server, { perMessageDeflate: false, serveClient: false });
io.on('connection', (socket) => {
  void socket.join(String((socket.handshake.auth as { user?: string }).user));
  socket.on('message:send', (p: { to: string }, ack?: (r: unknown) => void) => {
    socket.to(p.to).emit('message:new', p);
    ack?.({ ok: true });
  });
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`));
