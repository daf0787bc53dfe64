#!/usr/bin/env python3
"""A bot for chatd in Python, on the documented protocol only (README "Write a bot"): an API token,
the REST API, and Socket.IO through python-socketio over the WebSocket transport (like chat's own
clients: no long-polling session to pin to one replica). python-socketio's WebSocket handshake
carries `Origin: http://host:port`, the server's own origin, which chatd lets in. It accepts friend
requests (those sent while it was away too), answers "ping" with "pong" and repeats anything else,
in direct messages and in the groups it is added to.

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
    try:
        data = None if res.status_code == 204 else res.json()
    except ValueError:  # not JSON: a proxy's error page, say
        data = None
    if not res.ok:
        # An error's body is {"error": {"code", "message"}}: the code says what happened.
        error = (data or {}).get("error", {}) if isinstance(data, dict) else {}
        detail = f": {error['message']}" if error.get("message") else ""
        raise RuntimeError(f"{method} {path}: {error.get('code', f'HTTP {res.status_code}')}{detail}")
    return data


def accept(username):
    try:
        api("POST", f"/v1/friends/{username}/accept")
        print(f"echo_bot.py: accepted {username}", flush=True)
    except RuntimeError as err:
        print(f"echo_bot.py: {err}", file=sys.stderr, flush=True)


try:
    me = api("GET", "/v1/me")
except RuntimeError as err:
    print(f"echo_bot.py: {err}", file=sys.stderr, flush=True)
    sys.exit(1)
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
    # Requests that came while the bot was not connected get no friend:update: ask at every connect.
    sio.start_background_task(lambda: [accept(u) for u in api("GET", "/v1/friends/requests")["incoming"]])


@sio.event
def connect_error(data):
    # A refused handshake carries {code, message}; a network failure, a message only.
    why = f"{data['code']}: {data.get('message', '')}" if isinstance(data, dict) and "code" in data else data
    print(f"echo_bot.py: cannot connect: {why}", file=sys.stderr, flush=True)


@sio.on("session:end")
def session_end(err):
    print(f"echo_bot.py: the server ended the session: {err['code']}", file=sys.stderr, flush=True)
    os._exit(1)


@sio.on("friend:update")
def friend_update(event):
    if event["status"] == "incoming":
        accept(event["username"])


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
