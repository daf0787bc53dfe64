import { deploymentContract } from '../daemon/ports/deployment.contract.js';
import { isolation } from '../support/services.js';
import { services } from './env.js';

const env = services('MONGODB_URI', 'REDIS_URL', 'KAFKA_BROKERS');
if (env) deploymentContract('scaleout', () => isolation('deployment').env(env), ['chatd_pipeline_backlog', 'chatd_persister_messages_total']);
