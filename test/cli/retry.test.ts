import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TOKEN, call, runBmoCli, withBmo } from '../helpers/bmo.js';

// The CLI sends every write with an Idempotency-Key and sends it once more when the outcome is unknown.

const it = suite('cli: writes carry a key and are retried once when the outcome is unknown');

type Fault = 'reset' | '503';

/**
 * A hop between the CLI and a real bmo that lets the first write through to bmo, then loses its
 * answer (`reset`: the connection is cut; `503`: a gateway's answer); everything else passes.
 */
async function faultyHop(target: string, fault: Fault): Promise<{ url: string; writes: IncomingHttpHeaders[]; close: () => Promise<void> }> {
  const writes: IncomingHttpHeaders[] = [];
  const server: Server = createServer((req, res) => {
    const isWrite = req.method !== 'GET';
    if (isWrite) writes.push(req.headers);
    const forward = request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      if (isWrite && writes.length === 1) {
        answer.resume();
        if (fault === 'reset') return req.socket.destroy();
        res.writeHead(503, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ error: 'store_unavailable', message: 'upstream went away' }));
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, writes, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

for (const fault of ['reset', '503'] as const) {
  it(`a write whose answer is lost (${fault}) is sent again with the same key: it lands once and the CLI succeeds`, () =>
    withBmo(async (bmo, dir) => {
      const hop = await faultyHop(bmo.url!, fault);
      try {
        const run = await runBmoCli(['workstream', 'create', '--label', `survives a ${fault}`, '--json'], dir, { BMO_URL: hop.url, BMO_TOKEN: TOKEN, BMO_LOG_LEVEL: 'warn' });
        assert.is(run.code, 0, run.stderr);
        assert.is(hop.writes.length, 2, 'sent twice: once lost, once answered');
        const [first, second] = hop.writes.map((h) => h['idempotency-key']);
        assert.ok(typeof first === 'string' && first.length > 0, 'the first send carries a key');
        assert.is(second, first, 'the retry carries the same key');
        const listed = await call(bmo, 'GET', '/v1/workstreams');
        const labels = (listed.json.workstreams as { label: string }[]).map((w) => w.label);
        assert.equal(labels, [`survives a ${fault}`], 'one workstream, not two');
        assert.is(JSON.parse(run.stdout).workstream_id ?? JSON.parse(run.stdout).id, (listed.json.workstreams[0] as { workstream_id: string }).workstream_id, 'the CLI reports the one that was written');
      } finally {
        await hop.close();
      }
    }, { listen: true }),
  );
}

it.run();
