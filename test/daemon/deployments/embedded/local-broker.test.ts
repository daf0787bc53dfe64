import { LocalBroker } from '../../../../src/daemon/deployments/embedded/local-broker.js';
import { brokerContract } from '../../ports/broker.contract.js';

brokerContract('embedded (one node, the local adapter)', 1, async () => new LocalBroker());
