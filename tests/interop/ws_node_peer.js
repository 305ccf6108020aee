#!/usr/bin/node
// Node's `ws` (8.18.0, pinned in package.json; tools/setup.sh installs it) with
// permessage-deflate on: a real peer nobody here wrote, for the deflate interop tests.
//
//   node ws_node_peer.js server
//     prints "port N" once listening on 127.0.0.1; echoes every message with its type; the
//     text "!extensions" is answered with "extensions <the Sec-WebSocket-Extensions it sent>".
//   node ws_node_peer.js client URL SIZE
//     connects offering permessage-deflate, prints "extensions <the server's answer>", then for
//     a JSON-like text of SIZE bytes, binary of SIZE bytes and the text sent as 4 fragments
//     prints "<kind> <bytes> ok" when the echo matches (or "mismatch"), then closes.
// Every wait is bounded: the process exits with status 1 after 30 s.
'use strict';
const { WebSocket, WebSocketServer } = require('ws');

setTimeout(() => { console.log('error timeout'); process.exit(1); }, 30000).unref();

function jsonLike(size) {
  let s = '[';
  for (let i = 0; s.length < size; ++i) s += `{"id":${i},"name":"item ${i % 17}","price":${(i * 37) % 1000}},`;
  return s.slice(0, size);
}

function pattern(size) {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; ++i) b[i] = i % 251;
  return b;
}

if (process.argv[2] === 'server') {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: { threshold: 0 }, maxPayload: 64 << 20 });
  const answered = new WeakMap();
  wss.on('headers', (headers, request) => {
    const line = headers.find((h) => h.toLowerCase().startsWith('sec-websocket-extensions:'));
    request.wspExtensions = line ? line.slice(line.indexOf(':') + 1).trim() : '-';
  });
  wss.on('connection', (ws, request) => {
    answered.set(ws, request.wspExtensions);
    ws.on('message', (data, isBinary) => {
      if (!isBinary && data.toString() === '!extensions') ws.send('extensions ' + answered.get(ws));
      else ws.send(data, { binary: isBinary });
    });
  });
  wss.on('listening', () => console.log('port ' + wss.address().port));
} else {
  const [, , , url, sizeText] = process.argv;
  const size = Number(sizeText);
  const ws = new WebSocket(url, { perMessageDeflate: { threshold: 0 }, maxPayload: 64 << 20 });
  const text = jsonLike(size), binary = pattern(size), fragmented = jsonLike(size + 1000);
  const expected = [['text', text, false], ['binary', binary, true], ['fragmented', fragmented, false]];
  ws.on('upgrade', (response) => console.log('extensions ' + (response.headers['sec-websocket-extensions'] || '-')));
  ws.on('open', () => {
    ws.send(text);
    ws.send(binary);
    const quarter = Math.ceil(fragmented.length / 4);
    for (let i = 0; i < 4; ++i) ws.send(fragmented.slice(i * quarter, (i + 1) * quarter), { fin: i === 3 });
  });
  ws.on('message', (data, isBinary) => {
    const [kind, sent, wasBinary] = expected.shift();
    const same = isBinary === wasBinary && Buffer.compare(Buffer.from(data), Buffer.from(sent)) === 0;
    console.log(`${kind} ${data.length} ${same ? 'ok' : 'mismatch'}`);
    if (expected.length === 0) ws.close(1000);
  });
  ws.on('close', () => process.exit(0));
  ws.on('error', (e) => { console.log('error ' + e.message); process.exit(1); });
}
