import { randomUUID } from 'node:crypto';
import path from 'node:path';
import {
  DockerComposeEnvironment,
  getContainerRuntimeClient,
  Wait,
  type StartedDockerComposeEnvironment,
} from 'testcontainers';
import { circuitViewSchema, type CircuitView } from '@cb-lab/contracts';
import { images } from './images';
import { freePortRange } from './ports';

/** Every compose service except grafana, which has no image on machines without a registry. */
export const STACK_SERVICES = [
  'redis',
  'payment-gateway',
  'payment-gateway-secondary',
  'payments',
  'orders',
  'load-generator',
  'prometheus',
] as const;
export type StackService = (typeof STACK_SERVICES)[number];
export const PAYMENTS_REPLICAS = 3;

/** The containers of a stack started with every service, by compose name (`payments-1` …). */
export const STACK_CONTAINERS: readonly string[] = STACK_SERVICES.flatMap((service) =>
  service === 'payments'
    ? Array.from({ length: PAYMENTS_REPLICAS }, (_, i) => `payments-${i + 1}`)
    : [`${service}-1`],
);
/** The breaker's open period of docker-compose.yml, pinned so a variable in the caller's shell cannot change it. */
export const COMPOSE_BREAKER_OPEN_MS = 10_000;

export interface StackOptions {
  /** Compose variables on top of the ones that place the stack (ports, images, token). */
  environment?: Readonly<Record<string, string>>;
  /** The services to start (with what they depend on); all but grafana by default. */
  services?: readonly StackService[];
  /** Override files on top of docker-compose.yml, e.g. `docker-compose.sentinel.yml`. */
  overrides?: readonly string[];
  /** Containers that run once and exit 0 (`redis-cluster-init-1`): waited for, not checked for health. */
  oneShot?: readonly string[];
}

/** Docker operations on one container of the stack, by compose container name (`redis-1` …). */
export interface StackContainer {
  /** Freezes its processes: connections stay open and nothing answers. */
  pause(): Promise<void>;
  unpause(): Promise<void>;
  /** Kills it at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  start(): Promise<void>;
  /**
   * One `docker stats` reading: memory in use now, in bytes, as `docker stats`
   * shows it, and the CPU time used since it started, in seconds (all cores).
   */
  usage(): Promise<{ memoryBytes: number; cpuSeconds: number }>;
}

/** What a payments replica's `GET /payments/circuit` says (the contract's circuit view). */
export type { CircuitView } from '@cb-lab/contracts';

export interface Stack {
  readonly orders: string;
  readonly gateway: string;
  readonly secondaryGateway: string;
  readonly prometheus: string;
  readonly loadGenerator: string;
  /** Base URL of each payments replica, by compose container name (`payments-1` …). */
  readonly payments: Readonly<Record<string, string>>;
  readonly environment: StartedDockerComposeEnvironment;
  /** The admin token this stack was started with (a fresh one per run). */
  readonly adminToken: string;
  /** The password of Redis's `lab` user (a fresh one per run). */
  readonly redisPassword: string;
  /**
   * What `docker compose` needs, run from the repository root, to act on this
   * stack: its project name (`COMPOSE_PROJECT_NAME`) and the variables it was
   * started with. Containers it recreates are not the ones `container()` and
   * `environment` know.
   */
  readonly composeEnvironment: Readonly<Record<string, string>>;
  container(name: string): StackContainer;
  /** Replaces the gateway's faults through its admin API (`null` heals it); throws if refused. */
  setGatewayFaults(faults: Readonly<Record<string, unknown>> | null): Promise<void>;
  /** Each payments replica's breaker by compose name; `undefined` for one that does not answer. */
  circuits(): Promise<Record<string, CircuitView | undefined>>;
  down(): Promise<void>;
}

/**
 * Builds the images and brings up the real docker-compose.yml on free host
 * ports, waiting for every container's healthcheck, so it never collides
 * with a lab the user already has running on the default ports.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const [orders, gateway, prometheus, secondaryGateway, loadGenerator] = await freePortRange(5);
  const payments = await freePortRange(
    PAYMENTS_REPLICAS,
    new Set([orders, gateway, prometheus, secondaryGateway, loadGenerator].map(Number)),
  );
  const adminToken = `stack-${randomUUID()}`;
  const redisPassword = `redis-${randomUUID()}`;
  const projectName = `cb-lab-${randomUUID().slice(0, 8)}`;
  let compose = new DockerComposeEnvironment(path.resolve(__dirname, '../..'), [
    'docker-compose.yml',
    ...(options.overrides ?? []),
  ]).withProjectName(projectName);
  for (const name of options.oneShot ?? [])
    compose = compose.withWaitStrategy(name, Wait.forOneShotStartup());
  const variables: Record<string, string> = {
    NODE_IMAGE: images.node,
    REDIS_IMAGE: images.redis,
    PROMETHEUS_IMAGE: images.prometheus,
    ORDERS_HOST_PORT: String(orders),
    GATEWAY_HOST_PORT: String(gateway),
    PROMETHEUS_HOST_PORT: String(prometheus),
    PAYMENTS_HOST_PORTS: `${payments[0]}-${payments[payments.length - 1]}`,
    SECONDARY_GATEWAY_HOST_PORT: String(secondaryGateway),
    LOAD_GENERATOR_HOST_PORT: String(loadGenerator),
    ADMIN_TOKEN: adminToken,
    REDIS_PASSWORD: redisPassword,
    REDIS_ADMIN_PASSWORD: `redis-admin-${randomUUID()}`,
    REDIS_SENTINEL_PASSWORD: `redis-sentinel-${randomUUID()}`,
    BREAKER_OPEN_MS: String(COMPOSE_BREAKER_OPEN_MS),
    ...options.environment,
  };
  const environment = await compose
    .withBuild()
    .withEnvironment(variables)
    .withDefaultWaitStrategy(Wait.forHealthCheck())
    .withStartupTimeout(300_000)
    .up([...(options.services ?? STACK_SERVICES)]);

  const url = (port: number | undefined) => `http://127.0.0.1:${port}`;
  const replicas = Object.fromEntries(
    Array.from({ length: PAYMENTS_REPLICAS }, (_, i) => {
      const name = `payments-${i + 1}`;
      return [name, url(environment.getContainer(name).getMappedPort(8080))];
    }),
  );
  const runtime = await getContainerRuntimeClient();
  const gatewayUrl = url(gateway);
  return {
    orders: url(orders),
    gateway: gatewayUrl,
    secondaryGateway: url(secondaryGateway),
    prometheus: url(prometheus),
    loadGenerator: url(loadGenerator),
    payments: replicas,
    environment,
    adminToken,
    redisPassword,
    composeEnvironment: { ...variables, COMPOSE_PROJECT_NAME: projectName },
    container(name) {
      const docker = runtime.container.getById(environment.getContainer(name).getId());
      return {
        pause: () => docker.pause(),
        unpause: () => docker.unpause(),
        kill: () => docker.kill(),
        start: () => docker.start(),
        async usage() {
          const stats = await docker.stats({ stream: false });
          // What `docker stats` shows: usage minus the reclaimable page cache.
          // (cgroup v2 names it inactive_file, v1 total_inactive_file; either may be absent.)
          const counters = stats.memory_stats.stats as Partial<Record<string, number>> | undefined;
          const cache = counters?.inactive_file ?? counters?.total_inactive_file ?? 0;
          return {
            memoryBytes: stats.memory_stats.usage - cache,
            cpuSeconds: stats.cpu_stats.cpu_usage.total_usage / 1e9,
          };
        },
      };
    },
    async setGatewayFaults(faults) {
      const response = await fetch(`${gatewayUrl}/admin/faults`, {
        method: faults === null ? 'DELETE' : 'PUT',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        ...(faults === null ? {} : { body: JSON.stringify(faults) }),
      });
      if (!response.ok)
        throw new Error(
          `the gateway refused the faults: ${response.status} ${await response.text()}`,
        );
    },
    async circuits() {
      const views = await Promise.all(
        Object.entries(replicas).map(async ([name, base]) => {
          // A replica that does not answer (restarting, killed) has no view; one that answers
          // something else than the contract's view fails the test.
          const response = await fetch(`${base}/payments/circuit`).catch(() => undefined);
          const view = response?.ok ? circuitViewSchema.parse(await response.json()) : undefined;
          return [name, view] as const;
        }),
      );
      return Object.fromEntries(views);
    },
    down: async () => {
      await environment.down({ removeVolumes: true, timeout: 20_000 });
    },
  };
}
