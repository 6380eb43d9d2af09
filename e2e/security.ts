import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { STACK_CONTAINERS, type Stack } from '@cb-lab/testing';
import { getContainerRuntimeClient } from 'testcontainers';

const exec = promisify(execFile);

/** The images `docker compose build` makes for the lab (Redis and Prometheus are pulled). */
const LAB_IMAGES = ['payment-gateway', 'payments', 'orders', 'load-generator'].map(
  (name) => `circuit-breaker-lab/${name}:local`,
);
/** Every container but Redis and Prometheus runs one of the lab's Node.js images. */
const NODE_CONTAINERS = STACK_CONTAINERS.filter(
  (name) => !['redis-1', 'prometheus-1'].includes(name),
);

const redisCli = async (stack: Stack, script: string) =>
  (await stack.environment.getContainer('redis-1').exec(['sh', '-c', script])).output.trim();

/**
 * Security basics on the running stack: non-root read-only containers with
 * limits, Redis closed to anyone but the lab's user and that user closed to
 * other keys and dangerous commands, and the run's secrets in no image and
 * no log line. Runs after every part but the last (which recreates payments),
 * so the logs it reads hold nearly the whole run.
 */
export function security(running: () => Stack): void {
  describe('security', () => {
    it('runs every lab service as a non-root user on a read-only root, with CPU and memory limits', async () => {
      const { environment } = running();
      const docker = (await getContainerRuntimeClient()).container;
      for (const name of STACK_CONTAINERS) {
        const info = await docker.inspect(docker.getById(environment.getContainer(name).getId()));
        expect({ name, readOnly: info.HostConfig.ReadonlyRootfs }).toEqual({
          name,
          readOnly: true,
        });
        expect({ name, memory: info.HostConfig.Memory ?? 0 }).not.toEqual({ name, memory: 0 });
        expect({ name, cpus: info.HostConfig.NanoCpus ?? 0 }).not.toEqual({ name, cpus: 0 });
      }
      for (const name of NODE_CONTAINERS) {
        const { output } = await environment.getContainer(name).exec(['id', '-u']);
        expect({ name, uid: output.trim() }).not.toEqual({ name, uid: '0' });
        const write = await environment.getContainer(name).exec(['sh', '-c', 'echo x > /app/x']);
        expect(write.exitCode).not.toBe(0);
      }
    });

    it('caps Redis below its container limit, evicts nothing, and rewrites its AOF past 64 MiB', async () => {
      const stack = running();
      const docker = (await getContainerRuntimeClient()).container;
      const info = await docker.inspect(
        docker.getById(stack.environment.getContainer('redis-1').getId()),
      );
      const lab = (command: string) =>
        redisCli(stack, `redis-cli --user lab --no-auth-warning ${command}`);
      const memory = await lab('info memory');
      const persistence = await lab('info persistence');
      const field = (text: string, name: string) =>
        new RegExp(`^${name}:(\\S+)`, 'm').exec(text)?.[1];
      const maxmemory = Number(field(memory, 'maxmemory'));
      // The rest of the container's memory is for fragmentation and an AOF rewrite's copy-on-write.
      expect(maxmemory).toBeGreaterThan(0);
      expect(maxmemory).toBeLessThanOrEqual((info.HostConfig.Memory ?? 0) * 0.625);
      expect(field(memory, 'maxmemory_policy')).toBe('noeviction');
      expect(field(persistence, 'aof_enabled')).toBe('1');
      // The lab's user may not read the configuration (CONFIG is dangerous): the command line tells.
      expect(info.Config.Cmd.join(' ')).toMatch(
        /--appendfsync always --auto-aof-rewrite-percentage 100 --auto-aof-rewrite-min-size 64mb /,
      );
    });

    it('lets no one into Redis without the password, and the lab user only at its own keys', async () => {
      const stack = running();
      expect(await redisCli(stack, 'env -u REDISCLI_AUTH redis-cli get orders:x')).toMatch(
        /NOAUTH|NOPERM|WRONGPASS|Authentication required/,
      );
      expect(
        await redisCli(
          stack,
          'env -u REDISCLI_AUTH redis-cli --user lab --pass wrong --no-auth-warning ping',
        ),
      ).toMatch(/WRONGPASS|invalid username-password/);
      const lab = (command: string) =>
        redisCli(stack, `redis-cli --user lab --no-auth-warning ${command}`);
      expect(await lab('ping')).toBe('PONG');
      expect(await lab('set {orders}:security-check 1')).toBe('OK');
      expect(await lab('set elsewhere 1')).toMatch(/NOPERM/);
      expect(await lab('flushall')).toMatch(/NOPERM/);
      expect(await lab('config get requirepass')).toMatch(/NOPERM/);
      expect(await lab("keys '*'")).toMatch(/NOPERM/);
    });

    it('keeps the admin token and the Redis password out of every image and every log line', async () => {
      const { environment, adminToken, redisPassword } = running();
      const secrets = [adminToken, redisPassword];
      for (const image of LAB_IMAGES) {
        const { stdout: history } = await exec('docker', ['history', '--no-trunc', image]);
        const { stdout: config } = await exec('docker', ['image', 'inspect', image]);
        // Every file of every layer, not only the build commands.
        const { stdout: inLayers } = await exec('sh', [
          '-c',
          `docker save ${image} | grep -a -c -F ${secrets.map((secret) => `-e ${secret}`).join(' ')} || true`,
        ]);
        expect({ image, inLayers: Number(inLayers.trim()) }).toEqual({ image, inLayers: 0 });
        for (const secret of secrets)
          expect({ image, found: [history, config].some((t) => t.includes(secret)) }).toEqual({
            image,
            found: false,
          });
      }
      let scanned = 0;
      for (const name of STACK_CONTAINERS) {
        const id = environment.getContainer(name).getId();
        const { stdout, stderr } = await exec('docker', ['logs', id], { maxBuffer: 1 << 28 });
        const logs = stdout + stderr;
        scanned += logs.length;
        for (const secret of secrets)
          expect({ name, found: logs.includes(secret) }).toEqual({ name, found: false });
      }
      // The run did log: the scan read something.
      expect(scanned).toBeGreaterThan(100_000);
    });
  });
}
