/**
 * An emote (IRC's /me): a user message whose text is `/me <action>` is shown as "* ann <action>"
 * by the TUI and the CLI. The text is stored as typed, so every client can show it its way.
 */
export function emote(text: string): string | null {
  return text.startsWith('/me ') && text.trim().length > 3 ? text.slice(4) : null;
}
