import {
  callerIdSchema,
  circuitViewSchema,
  MAX_ISOLATION_MS,
  faultsSchema,
  scenarioStatusSchema,
  type FaultScope,
  type FaultsPatch,
} from '@cb-lab/contracts';
import { endpointsFrom, ENDPOINT_HELP, parse, parseDuration, parseNumber } from '../args';
import { stdout, type Command } from '../command';
import { callJson, LabError } from '../stack';
import { describeFaults, describeIsolation, readCallers } from './status';

export const faultCommand: Command = {
  name: 'fault',
  summary: 'inject faults into the payment gateway',
  help: `Usage: npm run lab -- fault [fault options] [options]

Sets the gateway's faults (they combine). Without --merge, faults not given
are cleared; with --merge, they keep their current values.

  --error-rate R      share of charges (0 to 1) answered with --error-status
  --error-status N    429 or 500-599 (default 503)
  --latency D         added before every answer, e.g. 800ms
  --jitter D          up to this much more, drawn per request
  --timeout-rate R    share of charges (0 to 1) accepted and never answered
  --down              cut every charge's connection without an answer
  --replica ID        limit the faults to the payments replica with this id
                      (as lab status lists them), or to the one answering at
                      this address (http://localhost:8081); repeat or
                      comma-separate for several
  --share R           limit the faults to this share (0 to 1] of the
                      gateway's callers
  --merge             change only the faults given (and the scope, if given)

Without --replica or --share, the faults reach every caller.

Examples:
  npm run lab -- fault --down
  npm run lab -- fault --error-rate 0.5
  npm run lab -- fault --down --replica 3f2a9c1b7d4e
  npm run lab -- fault --error-rate 1 --replica http://localhost:8081
  npm run lab -- fault --latency 1500ms --merge
${ENDPOINT_HELP}`,
  async run(argv) {
    const { values } = parse('fault', argv, {
      'error-rate': { type: 'string' },
      'error-status': { type: 'string' },
      latency: { type: 'string' },
      jitter: { type: 'string' },
      'timeout-rate': { type: 'string' },
      down: { type: 'boolean' },
      replica: { type: 'string', multiple: true },
      share: { type: 'string' },
      merge: { type: 'boolean' },
    });
    const faults: FaultsPatch = {};
    if (values['error-rate'] !== undefined)
      faults.errorRate = parseNumber('--error-rate', values['error-rate'], 0, 1);
    if (values['error-status'] !== undefined)
      faults.errorStatus = parseNumber('--error-status', values['error-status'], 429, 599);
    if (values.latency !== undefined)
      faults.latencyMs = Math.round(parseDuration('--latency', values.latency));
    if (values.jitter !== undefined)
      faults.jitterMs = Math.round(parseDuration('--jitter', values.jitter));
    if (values['timeout-rate'] !== undefined)
      faults.timeoutRate = parseNumber('--timeout-rate', values['timeout-rate'], 0, 1);
    if (values.down === true) faults.down = true;
    const scope = scopeOf(await replicaIdsOf(values.replica), values.share);
    if (Object.keys(faults).length === 0 && !(values.merge === true && scope !== undefined)) {
      throw new LabError(
        'give at least one fault, e.g. --down or --error-rate 0.5. See: npm run lab -- fault --help',
      );
    }
    if (scope !== undefined) faults.scope = scope;
    const endpoints = endpointsFrom(values);
    const active = await callJson(
      'payment-gateway',
      `${endpoints.gateway}/admin/faults`,
      faultsSchema,
      {
        method: values.merge === true ? 'PATCH' : 'PUT',
        body: JSON.stringify(faults),
        token: endpoints.adminToken,
      },
    );
    const callers = active.scope === null ? undefined : await readCallers(endpoints);
    stdout.line(`gateway faults: ${describeFaults(active, callers)}`);
  },
};

/** The id of the payments replica answering at `url` (its INSTANCE, the caller name the gateway hears). */
async function askReplicaId(url: string): Promise<string> {
  const view = await callJson('payments', `${url}/payments/circuit`, circuitViewSchema);
  return view.replica;
}

/**
 * `--replica` values as replica ids, each list split at its commas: an
 * address (`http://…`) is the replica answering there, asked for its id.
 */
export async function replicaIdsOf(
  values: string[] | undefined,
  askId: (url: string) => Promise<string> = askReplicaId,
): Promise<string[] | undefined> {
  if (values === undefined) return undefined;
  const entries = values.flatMap((list) => list.split(',')).map((entry) => entry.trim());
  return Promise.all(
    entries.map((entry) =>
      /^https?:\/\//.test(entry) ? askId(entry.replace(/\/+$/, '')) : Promise.resolve(entry),
    ),
  );
}

/** The scope `--replica` (ids) and `--share` ask for; undefined when neither is given. */
export function scopeOf(
  replicas: string[] | undefined,
  share: string | undefined,
): FaultScope | undefined {
  if (replicas !== undefined && share !== undefined) {
    throw new LabError('give --replica or --share, not both. See: npm run lab -- fault --help');
  }
  if (share !== undefined) {
    const value = parseNumber('--share', share, 0, 1);
    if (value === 0) throw new LabError('--share: expected a share above 0 (got "0")');
    return { share: value };
  }
  if (replicas === undefined) return undefined;
  const ids = replicas.flatMap((list) => list.split(',')).map((id) => id.trim());
  for (const id of ids) {
    const valid = callerIdSchema.safeParse(id);
    if (!valid.success) {
      throw new LabError(
        `--replica: ${valid.error.issues[0]?.message} (got ${JSON.stringify(id)})`,
      );
    }
  }
  return { replicas: [...new Set(ids)] };
}

export const healCommand: Command = {
  name: 'heal',
  summary: 'clear every gateway fault and stop a running scenario',
  help: `Usage: npm run lab -- heal [options]

Stops the gateway's running scenario, if any, and clears every fault.
${ENDPOINT_HELP}`,
  async run(argv) {
    const { values } = parse('heal', argv, {});
    const endpoints = endpointsFrom(values);
    await callJson('payment-gateway', `${endpoints.gateway}/admin/scenario`, scenarioStatusSchema, {
      method: 'DELETE',
      token: endpoints.adminToken,
    });
    const active = await callJson(
      'payment-gateway',
      `${endpoints.gateway}/admin/faults`,
      faultsSchema,
      {
        method: 'DELETE',
        token: endpoints.adminToken,
      },
    );
    stdout.line(`gateway faults: ${describeFaults(active)}`);
  },
};

export const breakerCommand: Command = {
  name: 'breaker',
  summary: 'isolate (force open) or reset the breaker for the whole cluster',
  help: `Usage: npm run lab -- breaker isolate|reset [--for D] [--reason TEXT] [options]

  isolate   holds the breaker open on every payments replica until reset,
            or for --for (e.g. 5m): then it closes by itself
  reset     closes it on every replica and clears every count

  --for D        isolate only: how long, from 1s to 7d (e.g. 90s, 5m, 2h)
  --reason TEXT  why: shown by lab status and /payments/circuit while isolated
${ENDPOINT_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(
      'breaker',
      argv,
      { reason: { type: 'string' }, for: { type: 'string' } },
      { min: 1, max: 1 },
    );
    const [action] = positionals;
    if (action !== 'isolate' && action !== 'reset') {
      throw new LabError('expected isolate or reset. See: npm run lab -- breaker --help');
    }
    if (values.for !== undefined && action !== 'isolate') {
      throw new LabError('--for applies to isolate only. See: npm run lab -- breaker --help');
    }
    const forMs = values.for === undefined ? undefined : isolationMs(values.for);
    const endpoints = endpointsFrom(values);
    const url = endpoints.payments[0];
    if (url === undefined) throw new LabError('breaker: no payments replica given');
    const view = await callJson(
      'payments',
      `${url}/payments/circuit/${action}`,
      circuitViewSchema,
      {
        method: 'POST',
        body: JSON.stringify({
          ...(values.reason === undefined ? {} : { reason: values.reason }),
          ...(forMs === undefined ? {} : { forMs }),
        }),
        token: endpoints.adminToken,
      },
    );
    stdout.line(
      `breaker ${action === 'isolate' ? 'isolated' : 'reset'} for the cluster (replica ${view.replica} now ${view.state})`,
    );
    if (view.isolation !== null) stdout.line(describeIsolation(view.isolation));
  },
};

/** `--for` as whole milliseconds, within what payments accepts. */
export function isolationMs(text: string): number {
  const ms = Math.round(parseDuration('--for', text));
  if (ms < 1_000 || ms > MAX_ISOLATION_MS) {
    throw new LabError(`--for: expected a duration from 1s to 7d (got ${JSON.stringify(text)})`);
  }
  return ms;
}
