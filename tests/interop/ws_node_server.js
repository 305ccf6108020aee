#!/usr/bin/env node
// A Node `ws` echo server (the npm package pinned in package.json) for the interop tests.
// Prints "port N" once listening on 127.0.0.1 (port chosen by the OS); with --cert/--key it
// serves wss://. Echoes every message with its type, except text commands:
//   !close CODE REASON   closes with CODE and REASON
//   !fragments N SIZE    sends one binary message as N frames of SIZE bytes (byte i = i % 251)
// For each connection that ends it prints "closed CODE REASON" (what the client sent).
// Usage: node ws_node_server.js [--cert CERT.pem --key KEY.pem]
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');
const WebSocket = require('ws');

const args = process.argv.slice(2);
const option = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const cert = option('--cert');
const server = cert ? https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(option('--key')) })
                    : http.createServer();
const wss = new WebSocket.Server({ server, maxPayload: 64 << 20, perMessageDeflate: false });

function pattern(size) {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; ++i) b[i] = i % 251;
  return b;
}

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    if (!isBinary && data.length && data[0] === 0x21 /* ! */) {
      const words = data.toString().split(' ');
      if (words[0] === '!close') ws.close(+words[1], words.slice(2).join(' '));
      else if (words[0] === '!fragments') {
        const count = +words[1], chunk = pattern(+words[2]);
        for (let i = 0; i < count; ++i) ws.send(chunk, { binary: true, fin: i === count - 1 });
      }
      return;
    }
    ws.send(data, { binary: isBinary });
  });
  ws.on('close', (code, reason) => console.log('closed ' + code + ' ' + reason.toString()));
  ws.on('error', (e) => console.log('error ' + e.message));
});
server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port));
// Bounded: the test kills us long before this.
setTimeout(() => process.exit(0), 300000);
