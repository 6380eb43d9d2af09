import {
  callerListSchema,
  circuitViewSchema,
  describeScope,
  faultsSchema,
  type CallerList,
  type CircuitView,
  type Faults as GatewayFaults,
} from '@cb-lab/contracts';
import { parse, endpointsFrom, ENDPOINT_HELP } from '../args';
import { stdout, type Command, type Output } from '../command';
import { callJson, type StackEndpoints } from '../stack';
import { table } from '../table';

export type { CircuitView, Faults as GatewayFaults } from '@cb-lab/contracts';

export const readCircuits = (endpoints: StackEndpoints): Promise<CircuitView[]> =>
  Promise.all(
    endpoints.payments.map((url) =>
      callJson('payments', `${url}/payments/circuit`, circuitViewSchema),
    ),
  );

export const readFaults = (endpoints: StackEndpoints): Promise<GatewayFaults> =>
  callJson('payment-gateway', `${endpoints.gateway}/admin/faults`, faultsSchema, {
    token: endpoints.adminToken,
  });

export const readCallers = (endpoints: StackEndpoints): Promise<CallerList> =>
  callJson('payment-gateway', `${endpoints.gateway}/admin/callers`, callerListSchema, {
    token: endpoints.adminToken,
  });

/**
 * `down`, or the active faults in words, or `healthy`; then, for faults
 * limited to some callers, which ones, and which of the callers heard lately
 * they reach (when `callers` is given).
 */
export function describeFaults(faults: GatewayFaults, callers?: CallerList): string {
  const what = describeFaultKinds(faults);
  if (what === 'healthy' || faults.scope === null) return what;
  const reached = callers?.callers.filter((caller) => caller.reached).map((c) => c.replica);
  const heard =
    callers === undefined
      ? ''
      : ` (reaching ${reached?.length ? reached.join(', ') : 'none'} of ${callers.callers.length} callers heard in the last minute)`;
  return `${what}, for ${describeScope(faults.scope)} only${heard}`;
}

function describeFaultKinds(faults: GatewayFaults): string {
  if (faults.down) return 'down (connections cut)';
  const parts: string[] = [];
  if (faults.errorRate > 0)
    parts.push(`${Math.round(faults.errorRate * 100)}% answer ${faults.errorStatus}`);
  if (faults.timeoutRate > 0) parts.push(`${Math.round(faults.timeoutRate * 100)}% never answer`);
  if (faults.latencyMs > 0 || faults.jitterMs > 0)
    parts.push(`+${faults.latencyMs}ms latency (±${faults.jitterMs}ms jitter)`);
  return parts.length === 0 ? 'healthy' : parts.join(', ');
}

const time = (iso: string | null): string => (iso === null ? '–' : iso.slice(11, 23));

/** The half-open time, marked when it has passed: the next call anywhere will be the probe. */
const halfOpen = (view: CircuitView): string =>
  view.halfOpenAt !== null && view.state === 'open' && Date.parse(view.halfOpenAt) <= Date.now()
    ? `${time(view.halfOpenAt)} (due: the next call probes)`
    : time(view.halfOpenAt);

export async function printStatus(endpoints: StackEndpoints, out: Output): Promise<void> {
  const [circuits, faults, callers] = await Promise.all([
    readCircuits(endpoints),
    readFaults(endpoints),
    readCallers(endpoints),
  ]);
  out.line(`breaker ${circuits[0]?.breaker ?? '?'} as each payments replica sees it:`);
  out.line(
    table(
      [
        'replica',
        'url',
        'state',
        'failures',
        'store',
        'redis server',
        'switches',
        'opened at',
        'half-open at',
      ],
      circuits.map((c, i) => [
        c.replica,
        endpoints.payments[i] ?? '',
        c.state,
        String(c.failures),
        c.store,
        c.storeServer ?? '–',
        String(c.storeSwitches),
        time(c.openedAt),
        halfOpen(c),
      ]),
    ),
  );
  const shared = circuits.find((c) => c.redis !== null)?.redis;
  out.line(
    shared
      ? `as Redis holds it: ${shared.state}, ${shared.failures} failures, epoch ${shared.epoch}, opened ${shared.openCount} time(s) since it last closed`
      : 'as Redis holds it: unknown (no replica can reach Redis)',
  );
  const isolation = circuits.find((c) => c.isolation !== null)?.isolation;
  if (isolation) out.line(describeIsolation(isolation));
  out.line(describeTopology(circuits));
  out.line(`gateway faults: ${describeFaults(faults, callers)}`);
}

/** `isolated until 14:05:00.000 (in 4m 59s): gateway deploy`, or until a reset. */
export function describeIsolation(
  isolation: NonNullable<CircuitView['isolation']>,
  now = Date.now(),
): string {
  const until =
    isolation.until === null
      ? 'isolated until a reset'
      : `isolated until ${time(isolation.until)} (in ${inWords(Date.parse(isolation.until) - now)}), then it closes by itself`;
  return `${until}: ${isolation.reason ?? 'no reason given'}`;
}

/** A duration in whole units: `4m 59s`, `2h 0m`, `12s`. */
function inWords(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1_000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

/** `Redis: sentinel; the breaker's state is on 172.18.0.6:6379`, or where replicas disagree. */
export function describeTopology(circuits: readonly CircuitView[]): string {
  const topology = circuits.find((c) => c.storeTopology !== null)?.storeTopology ?? 'unknown';
  const servers = [...new Set(circuits.map((c) => c.storeServer).filter((s) => s !== null))];
  const where =
    servers.length === 0
      ? 'no replica has reached it yet'
      : servers.length === 1
        ? `the breaker's state is on ${servers[0]}`
        : `replicas disagree on the server (a failover in progress?): ${servers.join(', ')}`;
  return `Redis: ${topology}; ${where}`;
}

export const statusCommand: Command = {
  name: 'status',
  summary:
    'the breaker as every payments replica sees it and as Redis holds it, and the gateway faults',
  help: `Usage: npm run lab -- status [options]

Shows, for each payments replica, the breaker state it enforces, its failure
count, whether it uses the shared state in Redis or its local fallback, and
which Redis server it reaches the state on (and how often that changed: a
failover), and when the breaker opened and will let a probe through; then the
state as Redis holds it, the Redis topology (standalone, sentinel, cluster)
with the server holding the breaker's slot, and the gateway's active faults
(for faults limited to some replicas: which of its callers they reach).
${ENDPOINT_HELP}`,
  async run(argv) {
    const { values } = parse('status', argv, {});
    await printStatus(endpointsFrom(values), stdout);
  },
};
