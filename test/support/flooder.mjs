// A client in a process of its own, as an attacker from outside would be: connects with
// auth.token, emits `count` events (payloads from a JSON array, cycled) as fast as the socket takes
// them, counts the acks by answer, prints them (and the code of a session:end, if chatd closed the
// connection) as one JSON line and exits.
// Usage: node flooder.mjs <url> <token> <event> <payloads JSON> <count>
import { io } from 'socket.io-client';

const [url, token, event, payloadsJson, countArg] = process.argv.slice(2);
const payloads = JSON.parse(payloadsJson);
const count = Number(countArg);
const socket = io(url, { transports: ['websocket'], auth: { token }, reconnection: false, forceNew: true });
socket.on('connect_error', (err) => { console.log(JSON.stringify({ error: err.message })); process.exit(1); });
const answers = {};
let ended = null;
let t0 = 0;
const report = () => {
  console.log(JSON.stringify({ answers, ended, seconds: (performance.now() - t0) / 1000 }));
  socket.close();
  process.exit(0);
};
// chatd may close a connection that keeps sending past its limits: report what came back until then.
socket.on('session:end', (e) => { ended = e.code; });
socket.on('disconnect', () => setTimeout(report, 50));
socket.on('connect', () => {
  let acked = 0;
  t0 = performance.now();
  for (let i = 0; i < count; i++) {
    socket.emit(event, payloads[i % payloads.length], (r) => {
      const k = r && r.ok ? 'ok' : (r && r.error && r.error.code) || 'none';
      answers[k] = (answers[k] ?? 0) + 1;
      if (++acked === count) report();
    });
  }
});
