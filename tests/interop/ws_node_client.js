#!/usr/bin/env node
// A Node `ws` client (the npm package pinned in package.json) for the interop tests: runs one
// scripted exchange against an echo server and prints one result line per check, so a test can
// compare lines exactly. Every wait is bounded (10 s per step); a failure prints "error DETAIL".
//
// Usage: node ws_node_client.js URL SCENARIO [ARGS...] [--ca CA.pem]
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const WebSocket = require('ws');

const args = process.argv.slice(2);
let ca;
const caAt = args.indexOf('--ca');
if (caAt >= 0) { ca = fs.readFileSync(args[caAt + 1]); args.splice(caAt, 2); }
const [url, scenario, ...rest] = args;

function pattern(size) {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; ++i) b[i] = i % 251;
  return b;
}
function letters(size) {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; ++i) b[i] = 97 + i % 26;
  return b.toString('latin1');
}
function describe(data, isBinary) {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data);
  return (isBinary ? 'binary' : 'text') + ' ' + bytes.length + ' ' +
      crypto.createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}
function fail(detail) {
  console.log('error ' + detail);
  process.exit(1);
}
setTimeout(() => fail('timeout'), 60000).unref();

const ws = new WebSocket(url, { ca, maxPayload: 64 << 20, perMessageDeflate: false });
const queue = [];
const waiters = [];
let closed = null;
ws.on('message', (data, isBinary) => {
  const m = { data, isBinary };
  if (waiters.length) waiters.shift()(m); else queue.push(m);
});
ws.on('close', (code, reason) => {
  closed = { code, reason: reason.toString() };
  while (waiters.length) waiters.shift()(null);
});
ws.on('error', (e) => fail(e.message));

function next() {
  if (queue.length) return Promise.resolve(queue.shift());
  if (closed) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no message within 10 s')), 10000);
    waiters.push((m) => { clearTimeout(t); resolve(m); });
  });
}
function closedEvent() {
  if (closed) return Promise.resolve(closed);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no close within 10 s')), 10000);
    ws.once('close', () => { clearTimeout(t); resolve(closed); });
  });
}
async function echo(data, binary) {
  ws.send(data, { binary });
  console.log('sent ' + describe(data, binary));
  const m = await next();
  console.log(m ? 'echo ' + describe(m.data, m.isBinary) : 'closed before the echo');
}

const scenarios = {
  async text() { await echo('héllo wörld', false); },
  async binary() { await echo(pattern(256), true); },
  async big() { // 16 MiB text, then 16 MiB binary
    await echo(letters(16 << 20), false);
    await echo(pattern(16 << 20), true);
  },
  async fragments(count, size, kind) { // one message as `count` frames of `size` bytes
    count = +count; size = +size;
    const chunk = kind === 'text' ? Buffer.from(letters(size)) : pattern(size);
    for (let i = 0; i < count; ++i) ws.send(chunk, { binary: kind !== 'text', fin: i === count - 1 });
    console.log('sent ' + describe(Buffer.concat(Array(count).fill(chunk)), kind !== 'text'));
    const m = await next();
    console.log(m ? 'echo ' + describe(m.data, m.isBinary) : 'closed before the echo');
  },
  async close(code, reason) { // we close; prints what the server answered
    ws.close(+code, reason);
    const c = await closedEvent();
    console.log('closed ' + c.code + ' ' + c.reason);
  },
  async 'wait-close'() { // prints "open", then the close the server sends
    console.log('open');
    const c = await closedEvent();
    console.log('closed ' + c.code + ' ' + c.reason);
  },
};

ws.on('open', async () => {
  try {
    if (!scenarios[scenario]) fail('unknown scenario ' + scenario);
    await scenarios[scenario](...rest);
    if (scenario !== 'close' && scenario !== 'wait-close') {
      ws.close(1000, 'done');
      await closedEvent();
    }
    process.exit(0);
  } catch (e) {
    fail(e.message);
  }
});
