import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { images } from '@cb-lab/testing';
import {
  DockerComposeEnvironment,
  Wait,
  type StartedDockerComposeEnvironment,
} from 'testcontainers';
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
export const PAYMENTS_REPLICAS = 3;
/**
 * The breaker's open period under compose (its default). The e2e tests keep it: the README's
 * walkthrough claims what happens within one open period, and is checked as written.
 */
export const E2E_BREAKER_OPEN_MS = 10_000;

export interface Stack {
  readonly orders: string;
  readonly gateway: string;
  readonly prometheus: string;
  readonly loadGenerator: string;
  /** Base URL of each payments replica, by compose container name (`payments-1` …). */
  readonly payments: Readonly<Record<string, string>>;
  readonly environment: StartedDockerComposeEnvironment;
  /** The admin token this stack was started with (a fresh one per run). */
  readonly adminToken: string;
  down(): Promise<void>;
}

/**
 * Builds the images and brings up the real docker-compose.yml on free host
 * ports, waiting for every container's healthcheck.
 */
export async function startStack(): Promise<Stack> {
  const [orders, gateway, prometheus, secondaryGateway, loadGenerator] = await freePortRange(5);
  const payments = await freePortRange(
    PAYMENTS_REPLICAS,
    new Set([orders, gateway, prometheus, secondaryGateway, loadGenerator].map(Number)),
  );
  const adminToken = `e2e-${randomUUID()}`;
  const environment = await new DockerComposeEnvironment(
    path.resolve(__dirname, '..'),
    'docker-compose.yml',
  )
    .withBuild()
    .withEnvironment({
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
      BREAKER_OPEN_MS: String(E2E_BREAKER_OPEN_MS),
    })
    .withDefaultWaitStrategy(Wait.forHealthCheck())
    .withStartupTimeout(300_000)
    .up([...STACK_SERVICES]);

  const url = (port: number | undefined) => `http://127.0.0.1:${port}`;
  const replicas = Object.fromEntries(
    Array.from({ length: PAYMENTS_REPLICAS }, (_, i) => {
      const name = `payments-${i + 1}`;
      return [name, url(environment.getContainer(name).getMappedPort(8080))];
    }),
  );
  return {
    orders: url(orders),
    gateway: url(gateway),
    prometheus: url(prometheus),
    loadGenerator: url(loadGenerator),
    payments: replicas,
    environment,
    adminToken,
    down: async () => {
      await environment.down({ removeVolumes: true, timeout: 20_000 });
    },
  };
}
