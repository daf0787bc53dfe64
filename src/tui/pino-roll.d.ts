// pino-roll ships no types: the options used here (sonic-boom's, plus its own).
declare module 'pino-roll' {
  import type { DestinationStream } from 'pino';
  interface PinoRollOptions {
    file: string | (() => string);
    size?: number | string;
    frequency?: 'daily' | 'hourly' | number;
    extension?: string;
    symlink?: boolean;
    limit?: { count?: number; removeOtherLogFiles?: boolean };
    dateFormat?: string;
    mkdir?: boolean;
    sync?: boolean;
    mode?: number;
  }
  export default function build(options: PinoRollOptions): Promise<DestinationStream & { flushSync(): void }>;
}
