/** Most code points in one reaction: the longest emoji people use (families, flags of regions) have 10. */
export const MAX_EMOJI_CODE_POINTS = 16;
const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });
const EMOJI_PART = /^[\p{Extended_Pictographic}\p{Emoji_Component}\u200d\ufe0f\u20e3]$/u;
const PICTOGRAPHIC = /\p{Extended_Pictographic}|\p{Regional_Indicator}{2}|\u20e3/u;
/**
 * One emoji: a single grapheme cluster of at most MAX_EMOJI_CODE_POINTS code points, made only of
 * emoji code points (pictographs, modifiers, ZWJ, variation selector, tags, keycaps, regional
 * indicators), with at least one pictograph, flag or keycap. Text, spaces and control
 * characters are refused.
 */
export function isOneEmoji(s: string): boolean {
  if (s.length === 0 || s.length > 2 * MAX_EMOJI_CODE_POINTS) return false;
  // People use few emoji: each answer is remembered (a bounded set), so the segmenter runs once per emoji.
  const known = answers.get(s);
  if (known !== undefined) return known;
  const yes = checkOneEmoji(s);
  if (answers.size >= MAX_REMEMBERED) answers.clear();
  answers.set(s, yes);
  return yes;
}

const MAX_REMEMBERED = 4096;
const answers = new Map<string, boolean>();

function checkOneEmoji(s: string): boolean {
  const cps = [...s];
  if (cps.length > MAX_EMOJI_CODE_POINTS || !cps.every((c) => EMOJI_PART.test(c)) || !PICTOGRAPHIC.test(s)) return false;
  let clusters = 0;
  for (const _ of segmenter.segment(s)) if (++clusters > 1) return false;
  return true;
}
