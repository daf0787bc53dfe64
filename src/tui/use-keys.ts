import { useEffect, useRef } from 'react';
import { useStdin } from 'ink';
import type { EventEmitter } from 'node:events';
import { decodeKeys, type KeyEvent } from './key-decoder.js';

/**
 * Every key, one at a time, even when several arrive in one read (ink's useInput gives a burst
 * as one unknown key). Text between bracketed-paste markers arrives as one `paste` call.
 */
export function useKeys(onKey: (k: KeyEvent) => void, onPaste?: (text: string) => void) {
  const stdin = useStdin() as ReturnType<typeof useStdin> & { internal_eventEmitter: EventEmitter };
  const handlers = useRef({ onKey, onPaste });
  handlers.current = { onKey, onPaste };
  useEffect(() => {
    stdin.setRawMode(true);
    return () => { stdin.setRawMode(false); };
  }, [stdin.setRawMode]);
  useEffect(() => {
    let paste: string | null = null;
    const onInput = (raw: string) => {
      for (const k of decodeKeys(raw)) {
        const { onKey: key, onPaste: pasted } = handlers.current;
        if (k.name === 'pasteStart') { paste = ''; continue; }
        if (k.name === 'pasteEnd') {
          const text = paste ?? '';
          paste = null;
          if (pasted) pasted(text); else for (const p of decodeKeys(text)) key(p);
          continue;
        }
        if (paste !== null) {
          // Inside a paste every key is text: line breaks and tabs included.
          paste += k.name === 'return' ? '\n' : k.name === 'tab' ? '\t' : k.name === undefined && !k.ctrl && !k.meta ? k.ch : '';
          continue;
        }
        key(k);
      }
    };
    stdin.internal_eventEmitter.on('input', onInput);
    return () => { stdin.internal_eventEmitter.removeListener('input', onInput); };
  }, [stdin.internal_eventEmitter]);
}
