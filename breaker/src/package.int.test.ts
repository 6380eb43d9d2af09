import { startRedis, Teardown, type TestRedis } from '@cb-lab/testing';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

/*
 * The package as another team gets it: `npm pack`, then installed from the
 * tarball into a fresh project outside the workspace (no links), where a
 * CommonJS, an ES module and a TypeScript consumer each break and close a
 * breaker on a real Redis. A second project installs the lowest peer
 * versions the package declares and runs the CommonJS consumer again.
 */

const run = promisify(execFile);
const PACKAGE_DIR = resolve(__dirname, '..');
const CONSUMERS = join(PACKAGE_DIR, 'consumers');

jest.setTimeout(300_000);

const teardown = new Teardown();
let redis: TestRedis;
let tarball: string;

/** Runs `command` in `cwd`; on failure the error carries its output. */
async function sh(cwd: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    return await run(command, args, {
      cwd,
      env: { ...process.env, ...env },
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${stdout}\n${stderr}`);
  }
}

/** A fresh project outside the workspace with the tarball and `dependencies` installed. */
async function freshProject(dependencies: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'shared-breaker-consumer-'));
  teardown.add(dir, (path) => rm(path, { recursive: true, force: true }));
  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }),
  );
  for (const file of ['consumer.cjs', 'consumer.mjs', 'typed-consumer.mts', 'tsconfig.json'])
    await copyFile(join(CONSUMERS, file), join(dir, file));
  await sh(dir, 'npm', [
    'install',
    '--no-audit',
    '--no-fund',
    '--prefer-offline',
    '--install-links',
    tarball,
    ...dependencies,
  ]);
  return dir;
}

async function consume(dir: string, file: string) {
  const { stdout } = await sh(dir, process.execPath, [file], { REDIS_URL: redis.url });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as Record<string, unknown>;
}

beforeAll(async () => {
  redis = teardown.add(await startRedis(), (r) => r.stop());
  const packDir = await mkdtemp(join(tmpdir(), 'shared-breaker-pack-'));
  teardown.add(packDir, (path) => rm(path, { recursive: true, force: true }));
  // `prepack` builds the package first.
  const { stdout } = await sh(PACKAGE_DIR, 'npm', [
    'pack',
    '--json',
    '--pack-destination',
    packDir,
  ]);
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string }[];
  tarball = join(packDir, packed!.filename);
});
afterAll(() => teardown.run());

describe('the packed package', () => {
  it('holds the builds, the ES module entries, the docs and no tests or sources', async () => {
    const { stdout } = await sh(PACKAGE_DIR, 'tar', ['-tzf', tarball]);
    const files = stdout.trim().split('\n');
    for (const file of [
      'package/dist/index.js',
      'package/dist/index.d.ts',
      'package/dist/prometheus.js',
      'package/esm/index.mjs',
      'package/esm/prometheus.d.mts',
      'package/README.md',
      'package/DESIGN.md',
      'package/CHANGELOG.md',
    ])
      expect(files).toContain(file);
    expect(files.filter((f) => /\.test\.|fixture|\/src\/|consumers/.test(f))).toEqual([]);
  });

  describe('installed in a fresh project with the latest peers', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await freshProject([
        'ioredis@5',
        'cockatiel@3',
        'prom-client@15',
        'typescript@5.9',
        '@types/node@20',
      ]);
    });

    it('is a real copy, not a link into the workspace', async () => {
      const manifest = JSON.parse(
        await readFile(join(dir, 'node_modules/@cb-lab/shared-breaker/package.json'), 'utf8'),
      ) as { name: string };
      expect(manifest.name).toBe('@cb-lab/shared-breaker');
      const { stdout } = await sh(dir, 'find', [
        'node_modules/@cb-lab',
        '-maxdepth',
        '1',
        '-type',
        'l',
      ]);
      expect(stdout.trim()).toBe('');
    });

    it.each([
      ['CommonJS', 'consumer.cjs', 'commonjs'],
      ['an ES module', 'consumer.mjs', 'esm'],
    ])('breaks and closes a breaker from %s, with metrics', async (_style, file, style) => {
      expect(await consume(dir, file)).toEqual({
        style,
        // The consumer ran on the Node.js running this test (20, 22 or 24).
        node: process.versions.node,
        seen: ['failed', 'failed', 'rejected'],
        opened: 'open',
        closed: 'closed',
        shared: 'closed',
        metrics: true,
      });
    });

    it('type-checks a strict TypeScript consumer, which then breaks and closes a breaker', async () => {
      await sh(dir, join(dir, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json']);
      expect(await consume(dir, 'typed-consumer.mjs')).toEqual({
        style: 'typescript',
        node: process.versions.node,
        seen: ['failed 404', 'failed 503', 'failed 503', 'rejected'],
        opened: 'open',
        answer: 'probe ok',
        closed: 'closed',
        shared: 'closed',
        transitions: ['closed>open', 'open>half_open', 'half_open>closed'],
        metrics: true,
      });
    });

    it('fails the type check of a consumer that misuses the API', async () => {
      await writeFile(
        join(dir, 'typed-consumer.mts'),
        [
          "import { MemoryBreakerStore, SharedCircuitBreaker } from '@cb-lab/shared-breaker';",
          'const store = new MemoryBreakerStore();',
          "new SharedCircuitBreaker(store, { name: 'x', openMs: 1,",
          "  trip: { mode: 'sometimes', threshold: 1 } });",
          '',
        ].join('\n'),
      );
      await expect(
        sh(dir, join(dir, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json']),
        // Refused for the trip it names, on that line (the store given is a real one).
      ).rejects.toThrow(/typed-consumer\.mts\(4,\d+\): error TS\d+/);
    });
  });

  it('runs on the lowest peer versions it declares', async () => {
    const manifest = JSON.parse(await readFile(join(PACKAGE_DIR, 'package.json'), 'utf8')) as {
      peerDependencies: Record<string, string>;
    };
    const lowest = Object.entries(manifest.peerDependencies).map(
      ([name, range]) => `${name}@${/\d+\.\d+\.\d+/.exec(range)![0]}`,
    );
    expect(lowest).toEqual(['cockatiel@3.1.1', 'ioredis@5.3.0', 'prom-client@14.2.0']);
    const dir = await freshProject([...lowest, 'typescript@5.9', '@types/node@20']);
    expect(await consume(dir, 'consumer.cjs')).toMatchObject({
      seen: ['failed', 'failed', 'rejected'],
      opened: 'open',
      closed: 'closed',
      metrics: true,
    });
    // The package's types hold against the lowest peers' types too.
    await sh(dir, join(dir, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json']);
    expect(await consume(dir, 'typed-consumer.mjs')).toMatchObject({
      closed: 'closed',
      metrics: true,
    });
  });
});
