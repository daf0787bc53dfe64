/**
 * npm run bench -- <dm|group|changes|search|files|connections|persist|cli|all> [--quick] [--targets=a,b] [--rates=r1,r2] [--repeat=N] [--nodes=2] [--profile]
 *                  [--client=socket.io-client] [--skip-no-id] [--all-steps]
 *
 * dm runs every chatd target twice: sends with a clientMsgId, and without one (--skip-no-id: once). --all-steps runs
 * every rate even after a failed one (CPU per message at each rate; the maximum is unchanged). --nodes=2 adds two
 * chatd scale-out nodes of one deployment with every pair split across them (cross-node p99 at
 * half of one node's maximum, and CPU per message on both nodes against one node at that rate).
 *
 * --profile profiles chatd's event loop and worker threads during each measured dm step (over the
 * inspector), and runs chatd under `node --cpu-prof` for a whole-process profile of its main thread
 * (with the inspector on, node writes none for workers); it prints where the CPU time went
 * (bench/profile.ts); the summary is written to bench/results/profile-<scenario>-<target>.json.
 *
 * The load generator drives Socket.IO targets at the wire level (bench/wire.ts); --client=socket.io-client
 * uses the client library instead, for comparison. CHAT_BENCH_CHATD=<path to bin/chatd.js> runs
 * another build of chatd under the same harness (old against new).
 *
 * Every figure comes from this one harness on this machine, chatd side by side with its
 * baselines in the same run: a bare Socket.IO relay, a raw ws relay, chatd embedded, and
 * chatd scale-out when MONGODB_URI, REDIS_URL and KAFKA_BROKERS are set. Servers run on
 * core 0 and the load generator on core 1 (taskset, where available).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hasTaskset, only, onlyRates, profile, profileDir, quick, root, scenario, targets } from './options.js';
import { changesScenario } from './scenarios/changes.js';
import { searchScenario } from './scenarios/search.js';
import { filesScenario } from './scenarios/files.js';
import { cliScenario } from './scenarios/cli.js';
import { connectionsScenario } from './scenarios/connections.js';
import { dmScenario } from './scenarios/dm.js';
import { groupScenario } from './scenarios/group.js';
import { persistScenario } from './scenarios/persist.js';

const machine = { cores: os.cpus().length, cpu: os.cpus()[0]?.model, memGB: Math.round(os.totalmem() / 1e9), node: process.version, taskset: hasTaskset, quick };
const scenarios = scenario === 'all' ? ['dm', 'group', 'changes', 'search', 'files', 'connections', 'persist', 'cli'] : [scenario];
fs.mkdirSync(path.join(root, 'bench/results'), { recursive: true });
if (profile) fs.mkdirSync(profileDir, { recursive: true });
for (const name of scenarios) {
  const run = name === 'dm' ? dmScenario : name === 'changes' ? changesScenario : name === 'search' ? searchScenario : name === 'files' ? filesScenario : name === 'group' ? groupScenario : name === 'connections' ? connectionsScenario : name === 'persist' ? persistScenario : name === 'cli' ? cliScenario : null;
  if (!run) { console.error(`unknown scenario ${name}: dm, group, changes, search, files, connections, persist, cli or all`); process.exit(2); }
  console.log(`== ${name}${quick ? ' (quick)' : ''} on ${machine.cores} cores, ${machine.node}; targets: ${targets.join(', ')}`);
  const result = await run(targets);
  // A partial run (some targets or rates only) never overwrites the full record.
  const file = path.join(root, 'bench/results', `${name}${quick ? '.quick' : only || onlyRates ? '.probe' : ''}.json`);
  fs.writeFileSync(file, JSON.stringify({ scenario: name, date: new Date().toISOString(), machine, ...result }, null, 2) + '\n');
  console.log(`wrote ${path.relative(root, file)}`);
}
process.exit(0);
