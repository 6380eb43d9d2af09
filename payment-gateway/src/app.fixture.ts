import { loadConfig, sampleValue, type RunningServer } from '@cb-lab/shared';
import { serve, testContext, type Teardown } from '@cb-lab/testing';
import { createApp } from './app';
import { gatewayConfigSchema } from './config';
import type { FaultsPatch } from './faults';

export const TEST_GATEWAY_TOKEN = 'gateway-admin-token-0123456789';

/** The card limit tests use: charges above it are declined as `insufficient_funds`. */
export const TEST_CARD_LIMIT_MINOR = 100_000;

export interface TestGateway {
  server: RunningServer;
  url: string;
  /** Replaces the faults through the admin API; `null` heals. */
  setFaults(faults: FaultsPatch | null): Promise<void>;
  /** Charge requests that reached the gateway with `outcome`, from its metrics. */
  reached(outcome: string): Promise<number>;
}

/** Starts a real gateway in process on a free port; `teardown` stops it. */
export async function startGateway(teardown: Teardown, instance = 'gw'): Promise<TestGateway> {
  const config = loadConfig(gatewayConfigSchema, {
    INSTANCE: instance,
    CARD_LIMIT_MINOR: String(TEST_CARD_LIMIT_MINOR),
    ADMIN_TOKEN: TEST_GATEWAY_TOKEN,
  });
  const server = teardown.add(await serve(createApp(testContext('payment-gateway', config))), (s) =>
    s.stop(),
  );
  return {
    server,
    url: server.url,
    async setFaults(faults) {
      const response = await fetch(`${server.url}/admin/faults`, {
        method: faults === null ? 'DELETE' : 'PUT',
        headers: {
          authorization: `Bearer ${TEST_GATEWAY_TOKEN}`,
          'content-type': 'application/json',
        },
        ...(faults === null ? {} : { body: JSON.stringify(faults) }),
      });
      if (!response.ok)
        throw new Error(`gateway admin answered ${response.status}: ${await response.text()}`);
    },
    async reached(outcome) {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      return sampleValue(text, 'gateway_charges_total', { outcome }) ?? 0;
    },
  };
}
