#!/usr/bin/env node
// A bot for chatd, written against the documented protocol only (README "Write a bot";
// /v1/openapi.json and /v1/events.schema.json): an API token, the REST API, and Socket.IO over
// WebSocket. It accepts friend requests (those sent while it was away too), answers "ping" with
// "pong" and repeats anything else, in direct messages and in the groups it is added to.
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
  // chatd answers JSON; a proxy in front of it may not (a 502 page): the status is said then.
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  // An error's body is {error: {code, message}}: the code says what happened (CHAT_ERR_TOKEN_INVALID...).
  if (!res.ok) throw new Error(`${method} ${path}: ${data?.error?.code ?? `HTTP ${res.status}`}${data?.error?.message ? `: ${data.error.message}` : ''}`);
  return data;
}

async function accept(username) {
  try {
    await api('POST', `/v1/friends/${encodeURIComponent(username)}/accept`);
    console.log(`echo-bot: accepted ${username}`);
  } catch (err) {
    console.error(`echo-bot: ${err.message}`);
  }
}

/** Requests that came while the bot was not connected get no friend:update: it asks for them at every connect. */
async function acceptWaiting() {
  const { incoming } = await api('GET', '/v1/friends/requests');
  for (const username of incoming) await accept(username);
}

let me;
try {
  me = await api('GET', '/v1/me');
} catch (err) {
  console.error(`echo-bot: ${err.message}`);
  process.exit(1);
}

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
socket.on('connect', () => {
  console.log(`echo-bot: connected to ${server} as ${me.username}`);
  acceptWaiting().catch((err) => console.error(`echo-bot: ${err.message}`));
});
// A refused handshake carries {code, message} in err.data; a network failure has only a message.
socket.on('connect_error', (err) => console.error(`echo-bot: cannot connect: ${err.data?.code ? `${err.data.code}: ${err.data.message}` : err.message}`));
socket.on('session:end', (err) => {
  console.error(`echo-bot: the server ended the session: ${err.code}`);
  process.exit(1);
});

socket.on('friend:update', ({ username, status }) => {
  if (status === 'incoming') void accept(username);
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
