import { deploymentContract } from '../../ports/deployment.contract.js';

deploymentContract('embedded', () => ({}), ['chatd_sqlite_checkpoint_seconds', 'chatd_sqlite_wal_pages']);
