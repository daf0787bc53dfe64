import type { Tone } from './layout.js';

/** Colours per tone; with NO_COLOR set every colour is dropped (bold/dim/inverse remain). */
export function theme(noColor: boolean) {
  const c = (name: string) => (noColor ? undefined : name);
  const tones: Record<Tone, { color?: string; bold?: boolean; dimColor?: boolean; inverse?: boolean }> = {
    normal: {},
    mine: { color: c('cyan') },
    ai: { color: c('magenta') },
    system: { color: c('yellow'), dimColor: true },
    dim: { dimColor: true },
    pending: { dimColor: true },
    error: { color: c('red') },
    hit: { inverse: true },
    separator: { dimColor: true },
    picked: { inverse: true, bold: true },
    mention: { color: c('yellow'), bold: true },
    file: { color: c('blue') },
    image: {},
  };
  return { tones, accent: c('green'), warn: c('yellow'), error: c('red'), online: c('green'), link: c('blue') };
}
export type Theme = ReturnType<typeof theme>;
