import type { Tone } from './layout.js';

/**
 * Colours per tone: `dark` for a dark background, `light` for a light one, `none` (NO_COLOR)
 * drops every colour (bold, dim and inverse remain). `true`/`false` are none/dark.
 */
export function theme(name: 'dark' | 'light' | 'none' | boolean) {
  const which = name === true ? 'none' : name === false ? 'dark' : name;
  const light: Record<string, string> = { cyan: 'blue', yellow: 'red', green: 'green', magenta: 'magenta', blue: 'blue', red: 'red' };
  const c = (colour: string) => (which === 'none' ? undefined : which === 'light' ? light[colour] ?? colour : colour);
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
