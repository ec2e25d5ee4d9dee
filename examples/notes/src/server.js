// The notes API: plain node:http, PostgreSQL through pg, word counts in a worker thread.
import http from 'node:http';
import { Worker } from 'node:worker_threads';
import { connect, pool } from './db.js';

const db = pool();
await connect(db);

const counter = new Worker(new URL('./count-worker.js', import.meta.url));
const pending = new Map();
let nextId = 0;
counter.on('message', ({ id, words }) => {
  pending.get(id)?.(words);
  pending.delete(id);
});
const countWords = (text) =>
  new Promise((resolve) => {
    const id = nextId++;
    pending.set(id, resolve);
    counter.postMessage({ id, text });
  });

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readJson(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function route(req, res) {
  const url = new URL(req.url, 'http://localhost');
  const id = /^\/notes\/(\d+)$/.exec(url.pathname)?.[1];
  if (req.method === 'GET' && url.pathname === '/health') {
    await db.query('SELECT 1');
    return send(res, 200, { status: 'ok' });
  }
  if (req.method === 'GET' && url.pathname === '/notes') {
    const { rows } = await db.query('SELECT id, title, words, summary FROM notes ORDER BY id');
    return send(res, 200, rows);
  }
  if (req.method === 'POST' && url.pathname === '/notes') {
    const note = await readJson(req);
    if (typeof note?.title !== 'string' || note.title.length === 0 || note.title.length > 16)
      return send(res, 400, { error: 'title must be 1 to 16 characters' });
    if (typeof note.body !== 'string') return send(res, 400, { error: 'body must be a string' });
    const words = await countWords(note.body);
    const { rows } = await db.query(
      'INSERT INTO notes (title, body, words) VALUES ($1, $2, $3) RETURNING id, title, words, summary',
      [note.title, note.body, words],
    );
    return send(res, 201, rows[0]);
  }
  if (id && req.method === 'GET') {
    const { rows } = await db.query('SELECT id, title, words, summary FROM notes WHERE id = $1', [id]);
    return rows[0] ? send(res, 200, rows[0]) : send(res, 404, { error: 'no such note' });
  }
  if (id && req.method === 'DELETE') {
    const { rowCount } = await db.query('DELETE FROM notes WHERE id = $1', [id]);
    return rowCount ? send(res, 204, {}) : send(res, 404, { error: 'no such note' });
  }
  send(res, 404, { error: `no route ${req.method} ${url.pathname}` });
}

const server = http.createServer((req, res) => {
  route(req, res)
    .then(() => console.log(`${req.method} ${req.url} ${res.statusCode}`))
    .catch((err) => {
      console.error(`${req.method} ${req.url} 500 ${err.message}`);
      send(res, 500, { error: 'internal error' });
    });
});

const port = Number(process.env.PORT ?? 8080);
server.listen(port, () => console.log(`notes listening on ${port}`));

// A graceful stop: finish what is in flight, close the pool and the worker thread, exit 0.
process.on('SIGTERM', () => {
  server.close(async () => {
    await counter.terminate();
    await db.end();
    process.exit(0);
  });
  server.closeIdleConnections();
});
