import { Server } from 'socket.io';
import { expect, it } from 'vitest';
import { LocalBroker } from '../../../../src/daemon/deployments/embedded/local-broker.js';
import type { ChatServer } from '../../../../src/daemon/ports/index.js';
import { brokerContract } from '../../ports/broker.contract.js';

brokerContract('embedded (one node, the local adapter)', 1, async () => new LocalBroker());

it('refuses to bind to a Socket.IO adapter without the internals its deliveries use (start fails, not each delivery)', async () => {
  // Not attached to an HTTP server: nothing to listen on or close.
  const io: ChatServer = new Server();
  (io.of('/').adapter as unknown as { encoder?: unknown }).encoder = undefined;
  await expect(new LocalBroker().bind(io)).rejects.toThrow(/no longer has encoder/);
});
