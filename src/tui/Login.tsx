import React, { useRef, useState } from 'react';
import { Box, Text, useApp } from 'ink';
import { useKeys } from './use-keys.js';
import { ApiClient } from '../client/api.js';
import { sanitizeLine } from '../client/sanitize.js';
import type { AuthResult } from '../protocol/index.js';

/** Shown when the CLI is not logged in: log in or register, then the chat opens. */
export function Login({ server, onDone }: { server: string; onDone: (r: AuthResult) => void }) {
  const { exit } = useApp();
  const [field, setFieldState] = useState<'username' | 'password'>('username');
  // Keys can arrive faster than renders: the handler reads refs, not a stale render's values.
  const fieldRef = useRef<'username' | 'password'>('username');
  const values = useRef({ username: '', password: '' });
  const setField = (f: 'username' | 'password') => { fieldRef.current = f; setFieldState(f); };
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [register, setRegisterState] = useState(false);
  const registerRef = useRef(false);
  const setRegister = (f: (r: boolean) => boolean) => { registerRef.current = f(registerRef.current); setRegisterState(registerRef.current); };
  const busyRef = useRef(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  // Every key of a burst counts: "alice" and Enter typed (or pasted) at once is a name and Enter.
  useKeys((k) => {
    if (k.ctrl && (k.ch === 'c' || k.ch === 'q')) return exit();
    if (busyRef.current) return;
    const field = fieldRef.current;
    if (k.name === 'tab' || k.name === 'backtab' || k.name === 'up' || k.name === 'down') return setField(field === 'username' ? 'password' : 'username');
    if (k.ctrl && k.ch === 'r') return setRegister((r) => !r);
    if (k.name === 'return') {
      if (field === 'username') return setField('password');
      busyRef.current = true;
      setBusy(true);
      const api = new ApiClient(server);
      const { username: u, password: p } = values.current;
      (registerRef.current ? api.register(u, p) : api.login(u, p)).then(onDone, (err: Error & { code?: string }) => {
        setError(`${err.code ?? 'error'}: ${err.message}`);
        busyRef.current = false;
        setBusy(false);
      });
      return;
    }
    const set = (v: string) => { values.current[field] = v; (field === 'username' ? setUsername : setPassword)(v); };
    if (k.name === 'backspace') return set([...values.current[field]].slice(0, -1).join(''));
    if (k.ctrl && k.ch === 'u') return set('');
    if (k.name === undefined && !k.ctrl && !k.meta) set(values.current[field] + k.ch.replace(/[\u0000-\u001f\u007f-\u009f]/g, ''));
  });

  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1} width={60}>
      <Text bold>{register ? 'Register' : 'Log in'} to {sanitizeLine(server)}</Text>
      <Text>username: <Text inverse={field === 'username'}>{sanitizeLine(username) || ' '}</Text></Text>
      <Text>password: <Text inverse={field === 'password'}>{'•'.repeat(password.length) || ' '}</Text></Text>
      <Text dimColor>Enter: next/submit · Tab: switch field · Ctrl+R: {register ? 'log in instead' : 'register instead'} · Ctrl+C: quit</Text>
      {busy ? <Text>…</Text> : null}
      {error ? <Text color="red">{sanitizeLine(error)}</Text> : null}
    </Box>
  );
}
