import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Deployment } from '../ports/index.js';
import * as embedded from './embedded/index.js';
import * as scaleout from './scaleout/index.js';

/** The one place where the configuration picks a deployment. */
export function createDeployment(config: Config, log: Logger): Deployment {
  switch (config.deployment) {
    case 'embedded':
      return embedded.create(config, log);
    case 'scaleout':
      return scaleout.create(config, log);
    default:
      throw new Error(`unknown deployment: ${String(config.deployment)}`);
  }
}
