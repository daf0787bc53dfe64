import React, { useRef, useState } from 'react';
import { Box, Text, useApp, useInput } from 'ink';
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
  const [register, setRegister] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useInput((input, key) => {
    if (key.ctrl && (input === 'c' || input === 'q')) return exit();
    if (busy) return;
    const field = fieldRef.current;
    if (key.tab || key.upArrow || key.downArrow) return setField(field === 'username' ? 'password' : 'username');
    if (key.ctrl && input === 'r') return setRegister(!register);
    if (key.return) {
      if (field === 'username') return setField('password');
      setBusy(true);
      const api = new ApiClient(server);
      const { username: u, password: p } = values.current;
      (register ? api.register(u, p) : api.login(u, p)).then(onDone, (err: Error & { code?: string }) => {
        setError(`${err.code ?? 'error'}: ${err.message}`);
        setBusy(false);
      });
      return;
    }
    const set = (v: string) => { values.current[field] = v; (field === 'username' ? setUsername : setPassword)(v); };
    if (key.backspace || key.delete) return set(values.current[field].slice(0, -1));
    const clean = input.replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
    if (clean && !key.ctrl && !key.meta) set(values.current[field] + clean);
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
