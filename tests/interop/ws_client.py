#!/usr/bin/python3
"""A python-websockets 10.4 client for the interop and example tests (the real peer nobody here
wrote). Runs one scripted exchange against an echo server and prints one result line per check,
so a test can compare lines exactly.

Usage: ws_client.py ws://127.0.0.1:PORT/ SCENARIO [ARGS...]
Every wait is bounded (5 s per step, 60 s overall); a failure prints "error TYPE: DETAIL".
"""
import asyncio
import contextlib
import hashlib
import os
import socket
import struct
import sys

import websockets

STEP = 5  # seconds


def pattern(size):
    return bytes(i % 251 for i in range(size))


def describe(message):
    kind = "text" if isinstance(message, str) else "binary"
    data = message.encode() if isinstance(message, str) else message
    return "%s %d %s" % (kind, len(data), hashlib.sha256(data).hexdigest()[:16])


async def recv(ws):
    return await asyncio.wait_for(ws.recv(), STEP)


async def connect(url, **kwargs):
    return await asyncio.wait_for(
        websockets.connect(url, max_size=None, ping_interval=None, **kwargs), STEP)


@contextlib.asynccontextmanager
async def session(url, **kwargs):
    ws = await connect(url, **kwargs)
    try:
        yield ws
    finally:
        await asyncio.wait_for(ws.close(), STEP)


async def text(url):
    async with session(url) as ws:
        await ws.send("héllo wörld")
        reply = await recv(ws)
        print("%s %s" % ("text" if isinstance(reply, str) else "binary", reply))


async def binary(url):
    async with session(url) as ws:
        await ws.send(bytes(range(256)))
        reply = await recv(ws)
        print("binary" if isinstance(reply, bytes) else "text", reply == bytes(range(256)))


async def big(url):
    """1 MiB text and 1 MiB binary, each echoed intact with its type."""
    async with session(url) as ws:
        blob = pattern(1 << 20)
        for message in (("abcdefghijklmnopqrstuvwxyz" * 40330)[:1 << 20], blob):
            await ws.send(message)
            print("sent", describe(message))
            print("echo", describe(await recv(ws)))


async def fragments(url, count, size, kind):
    """One message sent as `count` fragments of `size` bytes; prints the echo's description."""
    count, size = int(count), int(size)
    async with session(url) as ws:
        chunk = pattern(size)
        if kind == "text":
            chunk = "".join(chr(ord("a") + b % 26) for b in chunk)
        await ws.send(chunk for _ in range(count))
        print("sent", describe(chunk * count))
        print("echo", describe(await asyncio.wait_for(ws.recv(), 30)))


async def ping(url):
    async with session(url) as ws:
        waiter = await ws.ping(b"are you there")
        await asyncio.wait_for(waiter, STEP)
        print("pong received")


async def close(url, code, reason):
    """We close: prints the close code/reason the server echoed back."""
    ws = await connect(url)
    await asyncio.wait_for(ws.close(int(code), reason), STEP)
    print("closed %s %s" % (ws.close_code, ws.close_reason))


async def server_close(url, code, reason):
    """The server closes (asked by "!close CODE REASON"): prints what we received."""
    ws = await connect(url)
    await ws.send("!close %s %s" % (code, reason))
    try:
        await recv(ws)
        print("unexpected message")
    except websockets.ConnectionClosed as e:
        print("closed %s %s" % (e.rcvd.code, e.rcvd.reason))


async def wait_close(url):
    """Prints "open", then waits (bounded) until the server closes; prints what it sent."""
    ws = await connect(url)
    await ws.send("ready")
    print("open", await recv(ws), flush=True)
    try:
        await asyncio.wait_for(ws.recv(), 20)
        print("unexpected message")
    except websockets.ConnectionClosed as e:
        print("closed %s %s" % (e.rcvd.code, e.rcvd.reason))


async def subprotocol(url, offered):
    async with session(url, subprotocols=offered.split(",")) as ws:
        print("protocol", ws.subprotocol)


async def rejected_subprotocol(url, offered):
    try:
        ws = await connect(url, subprotocols=offered.split(","))
        print("accepted", ws.subprotocol)
        await ws.close()
    except websockets.InvalidStatusCode as e:
        print("rejected", e.status_code)


def host_port(url):
    host_port = url.split("//", 1)[1].split("/", 1)[0]
    host, port = host_port.rsplit(":", 1)
    return host, int(port)


def raw_exchange(url, request):
    """Sends raw bytes, returns everything the server sends until it closes (bounded)."""
    with socket.create_connection(host_port(url), timeout=STEP) as s:
        s.sendall(request)
        received = b""
        while len(received) < 65536:
            try:
                chunk = s.recv(4096)
            except socket.timeout:
                break
            if not chunk:
                break
            received += chunk
        return received


def bad_version(url):
    """A handshake with Sec-WebSocket-Version: 8: prints the status line and version header."""
    host, port = host_port(url)
    reply = raw_exchange(url, (
        "GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"
        % (host, port)).encode())
    head = reply.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    print(head[0])
    for line in head[1:]:
        if line.lower().startswith("sec-websocket-version:"):
            print(line)


def not_websocket(url):
    """A plain HTTP GET without Upgrade: prints the status line."""
    host, port = host_port(url)
    reply = raw_exchange(url, ("GET / HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (host, port)).encode())
    print(reply.split(b"\r\n", 1)[0].decode("latin-1"))


def refusal(url, protocols, version):
    """A raw handshake offering PROTOCOLS ("-" for none) with Sec-WebSocket-Version VERSION:
    prints the status line, the Content-Type line and each line of the body."""
    host, port = host_port(url)
    offer = "" if protocols == "-" else "Sec-WebSocket-Protocol: %s\r\n" % protocols
    reply = raw_exchange(url, (
        "GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: %s\r\n%s\r\n"
        % (host, port, version, offer)).encode())
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    print(lines[0])
    for line in lines[1:]:
        if line.lower().startswith("content-type:"):
            print(line)
    for line in body.decode("latin-1").splitlines():
        print(line)


async def flood(url, count):
    """`count` raw handshakes with Sec-WebSocket-Version 8 at once, each refused: prints how
    many got a 426."""
    host, port = host_port(url)
    request = (
        "GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"
        % (host, port)).encode()

    async def one():
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), STEP)
        writer.write(request)
        reply = await asyncio.wait_for(reader.read(), STEP)
        writer.close()
        return reply.startswith(b"HTTP/1.1 426 ")

    refused = await asyncio.gather(*(one() for _ in range(int(count))))
    print("refused %d of %s" % (sum(refused), count))


def invalid_utf8(url):
    """A raw client completes the handshake, sends a masked text frame holding ff fe, and prints
    the close frame the server answers with."""
    host, port = host_port(url)
    with socket.create_connection((host, port), timeout=STEP) as s:
        s.sendall((
            "GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            % (host, port)).encode())
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            chunk = s.recv(4096)
            if not chunk:
                print("error handshake: connection closed")
                return
            buffer += chunk
        head, buffer = buffer.split(b"\r\n\r\n", 1)
        print(head.split(b"\r\n", 1)[0].decode())
        mask = os.urandom(4)
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(b"\xff\xfe"))
        s.sendall(bytes([0x81, 0x80 | 2]) + mask + payload)
        while len(buffer) < 2 or len(buffer) < 2 + (buffer[1] & 0x7F):
            chunk = s.recv(4096)
            if not chunk:
                print("error frame: connection closed")
                return
            buffer += chunk
        opcode, length = buffer[0] & 0x0F, buffer[1] & 0x7F
        body = buffer[2:2 + length]
        code = struct.unpack("!H", body[:2])[0] if length >= 2 else None
        print("opcode %d code %s reason %s" % (opcode, code, body[2:].decode()))


def json_like(size):
    parts, i = ["["], 0
    while sum(map(len, parts)) < size:
        parts.append('{"id":%d,"name":"item %d","price":%d},' % (i, i % 17, i * 37 % 1000))
        i += 1
    return "".join(parts)[:size]


async def deflate(url, size):
    """Compression on (python-websockets' default): prints the server's extension answer,
    then "<kind> <bytes> ok" for a JSON-like text, a binary message, a text sent as 4 fragments
    and a 10-byte text, each echoed intact."""
    size = int(size)
    async with session(url) as ws:
        print("extensions", ws.response_headers.get("Sec-WebSocket-Extensions", "-"))
        fragmented = json_like(size + 1000)
        quarter = (len(fragmented) + 3) // 4
        cases = [("text", json_like(size)), ("binary", pattern(size)),
                 ("fragmented", [fragmented[i:i + quarter] for i in range(0, len(fragmented), quarter)]),
                 ("small", "0123456789")]
        for kind, message in cases:
            await ws.send(message)
            expected = "".join(message) if isinstance(message, list) else message
            reply = await recv(ws)
            size_of = len(reply.encode() if isinstance(reply, str) else reply)
            print(kind, size_of, "ok" if reply == expected else "mismatch")


async def many(url, count):
    """`count` connections open at once, each echoes its own text message."""
    count = int(count)
    connections = await asyncio.gather(*(connect(url) for _ in range(count)))
    await asyncio.gather(*(ws.send("message %d" % i) for i, ws in enumerate(connections)))
    replies = await asyncio.gather(*(recv(ws) for ws in connections))
    good = sum(reply == "message %d" % i for i, reply in enumerate(replies))
    await asyncio.gather(*(ws.close() for ws in connections))
    print("echoed %d of %d" % (good, count))


async def chat(url):
    """Two clients in a chat room: a message from the first reaches both."""
    first = await connect(url)
    print("first:", await recv(first))
    second = await connect(url)
    print("second:", await recv(second))
    print("first:", await recv(first))
    await first.send("hello from first")
    print("first:", await recv(first))
    print("second:", await recv(second))
    await second.close()
    print("first:", await recv(first))
    await first.close()


SCENARIOS = {
    "text": text, "binary": binary, "big": big, "fragments": fragments, "ping": ping,
    "close": close, "server-close": server_close, "wait-close": wait_close,
    "subprotocol": subprotocol, "rejected-subprotocol": rejected_subprotocol,
    "bad-version": bad_version, "not-websocket": not_websocket, "invalid-utf8": invalid_utf8,
    "refusal": refusal, "flood": flood,
    "many": many, "chat": chat, "deflate": deflate,
}


async def run(function, args):
    result = function(*args)
    if asyncio.iscoroutine(result):
        await asyncio.wait_for(result, 60)


def main():
    url, scenario, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    try:
        asyncio.run(run(SCENARIOS[scenario], [url] + args))
    except Exception as e:  # the test compares lines: say what went wrong on one
        print("error %s: %s" % (type(e).__name__, e))
        sys.exit(1)


if __name__ == "__main__":
    main()
