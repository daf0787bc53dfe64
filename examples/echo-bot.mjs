#!/usr/bin/env node
// A bot for chatd, written against the documented protocol only (README "Write a bot";
// /v1/openapi.json and /v1/events.schema.json): an API token, the REST API, and Socket.IO over
// WebSocket. It accepts friend requests, answers "ping" with "pong" and repeats anything else,
// in direct messages and in the groups it is added to.
//
//   chat token create echo-bot            # as the bot's account: prints chat_… once
//   CHAT_SERVER=http://127.0.0.1:3000 CHAT_BOT_TOKEN=chat_… node examples/echo-bot.mjs
//
// An API token, not a login: access tokens last 15 minutes, API tokens until revoked (and they
// end when the account's password is reset or the account is disabled).
import { io } from 'socket.io-client';

const server = process.env.CHAT_SERVER ?? 'http://127.0.0.1:3000';
const token = process.env.CHAT_BOT_TOKEN;
if (!token) {
  console.error('set CHAT_BOT_TOKEN to an API token (chat token create <name>)');
  process.exit(2);
}

async function api(method, path, body) {
  const res = await fetch(new URL(path, server), {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = res.status === 204 ? null : await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${data?.error?.code ?? res.status} ${data?.error?.message ?? ''}`);
  return data;
}

const me = await api('GET', '/v1/me');
// Group messages carry the conversation id (g:…); replies go to the group's #handle.
const handles = new Map();
async function replyTarget(message) {
  if (!message.conversationId.startsWith('g:')) return message.from;
  if (!handles.has(message.conversationId)) {
    for (const g of await api('GET', '/v1/groups')) handles.set(g.conversationId, `#${g.handle}`);
  }
  return handles.get(message.conversationId);
}

const socket = io(server, { transports: ['websocket'], auth: { token } });
socket.on('connect', () => console.log(`echo-bot: connected to ${server} as ${me.username}`));
socket.on('connect_error', (err) => console.error(`echo-bot: cannot connect: ${err.message}`));
socket.on('session:end', (err) => {
  console.error(`echo-bot: the server ended the session: ${err.code}`);
  process.exit(1);
});

socket.on('friend:update', async ({ username, status }) => {
  if (status !== 'incoming') return;
  await api('POST', `/v1/friends/${encodeURIComponent(username)}/accept`).catch((err) => console.error(`echo-bot: ${err.message}`));
  console.log(`echo-bot: accepted ${username}`);
});

socket.on('message:new', async (message) => {
  if (message.from === me.username || message.kind !== 'user') return;
  const text = message.text.trim().toLowerCase() === 'ping' ? 'pong' : `you said: ${message.text}`;
  const to = await replyTarget(message);
  // The reply's clientMsgId is derived from the message it answers: if this event is ever seen
  // twice (a reconnect), the server stores one reply.
  const ack = await socket.emitWithAck('message:send', { to, text, clientMsgId: `reply-${message.id}` });
  if (!ack.ok) console.error(`echo-bot: reply to ${to} refused: ${ack.error.code}`);
  else console.log(`echo-bot: answered ${message.from} in ${to}`);
});

const stop = () => { socket.close(); process.exit(0); };
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
