#!/usr/bin/python3
"""A python-websockets 10.4 echo server for the interop tests (the real peer nobody here wrote).

Prints "port N" once listening on 127.0.0.1 (port chosen by the OS). Echoes every message with
its type, except text commands:
  !close CODE REASON   closes with CODE and REASON
  !ping                pings the client, answers "pong received" once the pong arrives
  !pings               answers "pings N": pings received from the client so far
  !protocol            answers "protocol X" (the negotiated subprotocol, "-" when none)
  !fragments N SIZE    sends one binary message as N fragments of SIZE bytes (byte i = i % 251)
  !bad-utf8            sends a text frame holding invalid UTF-8 (bytes ff fe)
  !extensions          answers "extensions X" (the Sec-WebSocket-Extensions it answered, "-")
Compression (permessage-deflate) is python-websockets' default: on.
For each connection that ends it prints "closed CODE REASON" (the code/reason the client sent).
With --origins A,B a request whose Origin is not listed is refused (403, with python-websockets'
text/plain reason).
Usage: ws_server.py [--subprotocols a,b] [--ping-interval SECONDS] [--origins A,B]
"""
import argparse
import asyncio
import sys

import websockets
from websockets.frames import OP_PING, OP_TEXT
from websockets.legacy.server import WebSocketServerProtocol


class CountingProtocol(WebSocketServerProtocol):
    pings_received = 0

    async def read_frame(self, max_size):
        frame = await super().read_frame(max_size)
        if frame.opcode == OP_PING:
            self.pings_received += 1
        return frame


def pattern(size):
    return bytes(i % 251 for i in range(size))


async def handle(ws):
    try:
        async for message in ws:
            if isinstance(message, str) and message.startswith("!"):
                words = message.split(" ", 2)
                command = words[0]
                if command == "!close":
                    await ws.close(int(words[1]), words[2] if len(words) > 2 else "")
                elif command == "!ping":
                    waiter = await ws.ping(b"interop")
                    await asyncio.wait_for(waiter, 5)
                    await ws.send("pong received")
                elif command == "!pings":
                    await ws.send("pings %d" % ws.pings_received)
                elif command == "!protocol":
                    await ws.send("protocol %s" % (ws.subprotocol or "-"))
                elif command == "!fragments":
                    count, size = int(words[1]), int(words[2])
                    chunk = pattern(size)
                    await ws.send(chunk for _ in range(count))
                elif command == "!extensions":
                    await ws.send("extensions %s" % ws.response_headers.get("Sec-WebSocket-Extensions", "-"))
                elif command == "!bad-utf8":
                    await ws.write_frame(True, OP_TEXT, b"\xff\xfe")
                continue
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass
    await ws.wait_closed()
    print("closed %s %s" % (ws.close_code, ws.close_reason), flush=True)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--subprotocols", default="")
    parser.add_argument("--ping-interval", type=float, default=0)
    parser.add_argument("--origins", default="")
    args = parser.parse_args()
    protocols = [p for p in args.subprotocols.split(",") if p] or None
    origins = [o for o in args.origins.split(",") if o] or None
    async with websockets.serve(handle, "127.0.0.1", 0, create_protocol=CountingProtocol,
                                subprotocols=protocols, origins=origins, max_size=None,
                                ping_interval=args.ping_interval or None) as server:
        port = server.sockets[0].getsockname()[1]
        print("port %d" % port, flush=True)
        # Bounded: the test kills us long before this.
        await asyncio.sleep(300)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
