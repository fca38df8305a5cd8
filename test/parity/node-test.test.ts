import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { exited } from '../worker/child';

/** docs/testing.md's node:test example runs under `node -r celeriac/register --test` and passes. */
test('eagerApp() in a node:test suite', async () => {
  const root = join(__dirname, '../..');
  const child = spawn(
    process.execPath,
    ['-r', join(root, 'bin/register.js'), '--test', join(__dirname, 'node-test/eager.node.ts')],
    { cwd: root, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const { code } = await exited(child);
  expect({ code, pass: /# pass 2\b/.test(out), fail: /# fail 0\b/.test(out) }).toEqual({
    code: 0,
    pass: true,
    fail: true,
  });
});
