import http from 'node:http';

/** The relays' HTTP server: `/stats` reports what the harness reads from chatd's /metrics. */
export function statsServer(connections: () => number): http.Server {
  return http.createServer((req, res) => {
    if (req.url !== '/stats') return void res.end('ok');
    const m = process.memoryUsage();
    const cpu = process.cpuUsage();
    res.end(JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, cpuSeconds: (cpu.user + cpu.system) / 1e6, connections: connections() }));
  });
}
