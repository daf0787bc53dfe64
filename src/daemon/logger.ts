import pino, { type Logger } from 'pino';

/** Paths that may carry credentials; pino replaces them before anything is written. */
export const REDACT_PATHS = [
  'password', 'newPassword', 'currentPassword', 'token', 'accessToken', 'refreshToken', 'apiKey',
  '*.password', '*.newPassword', '*.currentPassword', '*.token', '*.accessToken', '*.refreshToken', '*.apiKey',
  'req.headers.authorization', 'headers.authorization', 'config.jwtAccessSecret', 'config.jwtRefreshSecret', 'config.geminiApiKey',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { service: 'chatd' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, destination);
}
