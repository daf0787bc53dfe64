export * from './errors.js';
export * from './limits.js';
export * from './schemas.js';
export * from './types.js';
export * from './events.js';
export * from './rest.js';
export * from './names.js';
export * from './openapi.js';
