import React, { useState } from 'react';
import { Box, Text, useApp, useInput } from 'ink';
import { ApiClient } from '../client/api.js';
import { sanitizeLine } from '../client/sanitize.js';
import type { AuthResult } from '../protocol/index.js';

/** Shown when the CLI is not logged in: log in or register, then the chat opens. */
export function Login({ server, onDone }: { server: string; onDone: (r: AuthResult) => void }) {
  const { exit } = useApp();
  const [field, setField] = useState<'username' | 'password'>('username');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [register, setRegister] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useInput((input, key) => {
    if (key.ctrl && (input === 'c' || input === 'q')) return exit();
    if (busy) return;
    if (key.tab || key.upArrow || key.downArrow) return setField(field === 'username' ? 'password' : 'username');
    if (key.ctrl && input === 'r') return setRegister(!register);
    if (key.return) {
      if (field === 'username') return setField('password');
      setBusy(true);
      const api = new ApiClient(server);
      (register ? api.register(username, password) : api.login(username, password)).then(onDone, (err: Error & { code?: string }) => {
        setError(`${err.code ?? 'error'}: ${err.message}`);
        setBusy(false);
      });
      return;
    }
    const set = field === 'username' ? setUsername : setPassword;
    const cur = field === 'username' ? username : password;
    if (key.backspace || key.delete) return set(cur.slice(0, -1));
    if (input && !key.ctrl && !key.meta) set(cur + input.replace(/[\u0000-\u001f\u007f-\u009f]/g, ''));
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
