// Services' log lines as diagnose reads them (src/diagnose/log-lines.ts), whatever logger wrote them.
import t from 'tap';
import { lineTime, notable } from '../src/diagnose/log-lines.js';

t.test('warnings, errors and 4xx/5xx answers, in JSON or plain text', async (t) => {
  for (const line of [
    '{"level":50,"time":1,"msg":"query failed"}',
    '{"level":"warn","message":"slow"}',
    '{"res":{"statusCode":404}}',
    'POST /users 400 12.345 ms - 52',
    '::1 - - [02/Dec/2026:11:41:04 +0000] "GET /notes HTTP/1.1" 500 21',
    'status=503 path=/health',
    'Error: connect ECONNREFUSED 127.0.0.1:5432',
    'WARN disk almost full',
  ])
    t.ok(notable(line), line);
  for (const line of [
    '{"level":30,"msg":"request completed","res":{"statusCode":200}}',
    'GET /notes 200 3 ms',
    'listening on 8080',
  ])
    t.notOk(notable(line), line);
});

t.test('the time of a line: the engine’s stamp first, else the logger’s own', async (t) => {
  t.equal(
    lineTime('web-1 | 2026-12-02T11:41:04.123456789Z POST /users 400'),
    Date.parse('2026-12-02T11:41:04.123Z'),
  );
  t.equal(lineTime('{"level":50,"time":1796215118619}'), 1796215118619);
  t.equal(
    lineTime('{"timestamp":"2026-12-02T11:41:04.000Z","level":"error"}'),
    Date.parse('2026-12-02T11:41:04.000Z'),
  );
  t.equal(lineTime('POST /users 400'), undefined, 'a line without a time cannot be placed');
});
