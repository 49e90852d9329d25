import { Validator } from '@seriousme/openapi-schema-validator';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Bmo } from '../../src/app.js';
import { ERROR_CODES, type ErrorCode } from '../../src/errors.js';
import { NOT_OVER_HTTP } from '../../src/http/openapi.js';
import { call, startTestBmo } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';

// /openapi.json describes every registered route, with its request (from the zod schemas the
// route parses with), its answers and the error codes it can return; every code of the catalogue
// is documented; the document is valid OpenAPI 3.1; /docs serves a UI for it.

let bmo: Bmo;
let dir: { dir: string; cleanup: () => void };

test.before(async () => {
  dir = tempDir('bmo-openapi-');
  bmo = await startTestBmo(dir.dir);
});

test.after(async () => {
  await bmo?.close().catch(() => {});
  dir?.cleanup();
});

async function doc(): Promise<any> {
  const res = await bmo.server.inject({ method: 'GET', url: '/openapi.json' });
  assert.is(res.statusCode, 200, 'no token needed');
  return res.json();
}

/** `METHOD /path/{param}` of every registered route but HEAD, the page's files and the docs UI. */
function registeredRoutes(): string[] {
  const routes = (bmo.server as unknown as { bmoRoutes: Set<string> }).bmoRoutes;
  return [...routes].filter((r) => !/^GET \/(docs|js\/|[a-z]+\.(css|html)$)/.test(r)).map((r) => r.replace(/:([a-z]+)/g, '{$1}')).sort();
}

test('every registered route is described, and nothing else', async () => {
  const document = await doc();
  const described = Object.entries(document.paths).flatMap(([path, ops]) => Object.keys(ops as object).map((m) => `${m.toUpperCase()} ${path}`)).sort();
  const registered = registeredRoutes();
  assert.ok(registered.length > 50, `routes found: ${registered.length}`);
  assert.equal(registered.filter((r) => !described.includes(r)), [], 'registered but not described');
  assert.equal(described.filter((r) => !registered.includes(r)), [], 'described but not registered');
});

test('every error code of src/errors.ts is documented with its status, and answered by some route unless said why not', async () => {
  const document = await doc();
  const codes = document.components.schemas.ErrorCode;
  assert.equal([...codes.enum].sort(), Object.keys(ERROR_CODES).sort());
  assert.equal(codes['x-bmo-status'], ERROR_CODES);
  const answered = new Set<string>();
  for (const ops of Object.values(document.paths) as Record<string, any>[]) {
    for (const op of Object.values(ops)) {
      for (const [status, response] of Object.entries(op.responses) as [string, any][]) {
        for (const code of response['x-bmo-errors'] ?? []) {
          assert.is(Number(status), ERROR_CODES[code as ErrorCode], `${code} under the wrong status`);
          answered.add(code);
        }
      }
    }
  }
  const silent = Object.keys(ERROR_CODES).filter((code) => !answered.has(code) && !(code in NOT_OVER_HTTP));
  assert.equal(silent, [], 'codes no route answers and nobody said why');
});

test('a request body is the zod schema the route parses with', async () => {
  const document = await doc();
  const create = document.paths['/v1/teams'].post;
  const body = create.requestBody.content['application/json'].schema;
  assert.equal(body.required.sort(), ['lead', 'name']);
  assert.is(body.additionalProperties, false, 'strict, as the route is');
  assert.is(body.properties.name.maxLength, 200);
  assert.ok(create.responses['201'], 'the created status');
  assert.ok(create.responses['409']['x-bmo-errors'].includes('version_conflict'));
  const list = document.paths['/v1/teams'].get.parameters.map((p: any) => p.name);
  assert.ok(list.includes('limit') && list.includes('cursor'), `list parameters: ${list}`);
  const claim = document.paths['/v1/teams/{id}/tasks/{task}/claim'].post;
  assert.equal(claim.parameters.map((p: any) => `${p.in}:${p.name}`), ['path:id', 'path:task']);
});

test('the document is valid OpenAPI 3.1 (@seriousme/openapi-schema-validator)', async () => {
  const validator = new Validator();
  const result = await validator.validate(await doc());
  assert.ok(result.valid, JSON.stringify(result.errors, null, 2)?.slice(0, 2000));
  assert.is(validator.version, '3.1');
});

test('/docs serves the UI over the same document', async () => {
  const page = await call(bmo, 'GET', '/docs/');
  assert.is(page.status, 200);
  assert.match(page.body, 'swagger');
  const json = await call(bmo, 'GET', '/docs/json');
  assert.is(json.status, 200);
  assert.equal(Object.keys(json.json.paths).sort(), Object.keys((await doc()).paths).sort());
});

test.run();
