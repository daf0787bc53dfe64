#!/usr/bin/env python3
"""A bot for chatd in Python, on the documented protocol only (README "Write a bot"): an API token,
the REST API, and Socket.IO through python-socketio over the WebSocket transport (like chat's own
clients: no long-polling session to pin to one replica). python-socketio's WebSocket handshake
carries `Origin: http://host:port`, the server's own origin, which chatd lets in. It accepts friend
requests, answers "ping" with "pong" and repeats anything else, in direct messages and in the
groups it is added to.

    pip install "python-socketio[client]"
    chat token create echo-bot            # as the bot's account: prints chat_... once
    CHAT_SERVER=http://127.0.0.1:3000 CHAT_BOT_TOKEN=chat_... python3 examples/echo_bot.py
"""
import os
import signal
import sys

import requests
import socketio

server = os.environ.get("CHAT_SERVER", "http://127.0.0.1:3000")
token = os.environ.get("CHAT_BOT_TOKEN")
if not token:
    print("set CHAT_BOT_TOKEN to an API token (chat token create <name>)", file=sys.stderr)
    sys.exit(2)

http = requests.Session()
http.headers["Authorization"] = f"Bearer {token}"


def api(method, path, body=None):
    res = http.request(method, server + path, json=body, timeout=10)
    data = None if res.status_code == 204 else res.json()
    if not res.ok:
        error = (data or {}).get("error", {})
        raise RuntimeError(f"{method} {path}: {error.get('code', res.status_code)} {error.get('message', '')}")
    return data


me = api("GET", "/v1/me")
handles = {}


def reply_target(message):
    """Group messages carry the conversation id (g:...); replies go to the group's #handle."""
    if not message["conversationId"].startswith("g:"):
        return message["from"]
    if message["conversationId"] not in handles:
        for g in api("GET", "/v1/groups"):
            handles[g["conversationId"]] = "#" + g["handle"]
    return handles[message["conversationId"]]


sio = socketio.Client(reconnection=True)


@sio.event
def connect():
    print(f"echo_bot.py: connected to {server} as {me['username']}", flush=True)


@sio.event
def connect_error(data):
    print(f"echo_bot.py: cannot connect: {data}", file=sys.stderr, flush=True)


@sio.on("session:end")
def session_end(err):
    print(f"echo_bot.py: the server ended the session: {err['code']}", file=sys.stderr, flush=True)
    os._exit(1)


@sio.on("friend:update")
def friend_update(event):
    if event["status"] != "incoming":
        return
    api("POST", f"/v1/friends/{event['username']}/accept")
    print(f"echo_bot.py: accepted {event['username']}", flush=True)


@sio.on("message:new")
def message_new(message):
    if message["from"] == me["username"] or message["kind"] != "user":
        return
    text = "pong" if message["text"].strip().lower() == "ping" else f"you said: {message['text']}"
    to = reply_target(message)
    # The reply's clientMsgId is derived from the message it answers: a redelivered event
    # never gets two replies.
    ack = sio.call("message:send", {"to": to, "text": text, "clientMsgId": f"reply-{message['id']}"}, timeout=10)
    if not ack["ok"]:
        print(f"echo_bot.py: reply to {to} refused: {ack['error']['code']}", file=sys.stderr, flush=True)
    else:
        print(f"echo_bot.py: answered {message['from']} in {to} over {sio.transport()}", flush=True)


signal.signal(signal.SIGTERM, lambda *_: (sio.disconnect(), sys.exit(0)))
sio.connect(server, auth={"token": token}, transports=["websocket"])
sio.wait()
