// An open-loop load generator in a process of its own: `pairs` of sockets (one per sender, each
// with its own token) send to their peer at `rate` messages a second in all, for `seconds`,
// whatever the acks say, every message with a clientMsgId. Then it waits up to `drainSeconds` for
// the acks still out and prints one JSON line: sent, answers by code, the acked messages (id,
// conversation, seq) in a file, and the ack latencies' p50/p99.
// Usage: node overload.mjs <url> <senders JSON [{token, to}]> <rate> <seconds> <drainSeconds> <ackedFile>
import fs from 'node:fs';
import { io } from 'socket.io-client';

const [url, sendersJson, rateArg, secondsArg, drainArg, ackedFile] = process.argv.slice(2);
const senders = JSON.parse(sendersJson);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const drain = Number(drainArg);
const sockets = await Promise.all(senders.map((s) => new Promise((resolve, reject) => {
  const socket = io(url, { transports: ['websocket'], auth: { token: s.token }, reconnection: false, forceNew: true });
  socket.once('connect', () => resolve(socket));
  socket.once('connect_error', reject);
})));
const answers = {};
const acked = [];
const latencies = [];
let sent = 0;
let outstanding = 0;
let disconnected = 0;
for (const s of sockets) s.on('disconnect', () => { disconnected++; });
const TICK_MS = 10;
const perTick = rate * TICK_MS / 1000;
let owed = 0;
const t0 = performance.now();
await new Promise((resolve) => {
  const timer = setInterval(() => {
    owed += perTick;
    while (owed >= 1) {
      owed--;
      const i = sent % sockets.length;
      const n = sent++;
      const started = performance.now();
      outstanding++;
      sockets[i].emit('message:send', { to: senders[i].to, text: `load ${n}`, clientMsgId: `load-${process.pid}-${n}` }, (r) => {
        outstanding--;
        const k = r && r.ok ? 'ok' : (r && r.error && r.error.code) || 'none';
        answers[k] = (answers[k] ?? 0) + 1;
        if (r && r.ok) {
          acked.push([r.data.id, r.data.conversationId, r.data.seq]);
          latencies.push(performance.now() - started);
        }
      });
    }
    if (performance.now() - t0 >= seconds * 1000) { clearInterval(timer); resolve(); }
  }, TICK_MS);
});
const offeredFor = (performance.now() - t0) / 1000;
const deadline = performance.now() + drain * 1000;
while (outstanding > 0 && performance.now() < deadline && disconnected < sockets.length) await new Promise((r) => setTimeout(r, 50));
latencies.sort((a, b) => a - b);
const pct = (p) => latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] : null;
fs.writeFileSync(ackedFile, JSON.stringify(acked));
console.log(JSON.stringify({ sent, offeredFor, answers, unanswered: outstanding, disconnected, p50: pct(0.5), p99: pct(0.99) }));
for (const s of sockets) s.close();
process.exit(0);
