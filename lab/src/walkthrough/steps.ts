/**
 * The README's walkthrough, as data: what to say, which command to run, and
 * what its output must show. `npm run walkthrough` runs it against the local
 * stack and writes the commands with their real output into the README; the
 * end-to-end test runs the same steps against the compose stack it started,
 * so every claim the README makes is checked on every CI run.
 *
 * Commands are templates: `{{orders}}`, `{{payments}}` (one replica),
 * `{{gateway}}`, `{{loadGenerator}}`, `{{token}}` and `{{openSeconds}}` are
 * filled with the lab's defaults for the README and with the real addresses
 * when the walkthrough runs.
 */
export interface WalkthroughStep {
  /** Markdown shown before the command. */
  text: string;
  command: string;
  /**
   * Throws when the output does not show what the text claims. `memory` is
   * shared by the steps of one run, for claims relative to an earlier output.
   */
  check(output: string, memory: Record<string, number>): void;
}

export interface WalkthroughSection {
  title: string;
  steps: WalkthroughStep[];
}

const ORDER = `curl -s -X POST {{orders}}/orders -H 'content-type: application/json' -d '{"customerId":"c-1","amount":1999,"currency":"EUR"}'`;
const REASONS = `grep -o '"status":"[a-z_]*"\\|"failureReason":"[a-z_]*"' | paste -sd ' '`;
const FAULTED = `curl -s {{gateway}}/metrics | grep '^gateway_charges_total{outcome="faulted"'`;

export class WalkthroughClaimError extends Error {
  override readonly name = 'WalkthroughClaimError';
}

function expect(condition: boolean, claim: string, output: string): void {
  if (!condition) throw new WalkthroughClaimError(`${claim}\n--- output ---\n${output}`);
}

const count = (output: string, text: string): number => output.split(text).length - 1;

/** The value of the gateway's faulted-charges counter in `output`. */
const faulted = (output: string): number =>
  Number(/\}\s+(\d+)\s*$/m.exec(output)?.[1] ?? Number.NaN);

/** Rows of `lab status` for the payments replicas, e.g. `abc123  http://…  open  5  redis …`. */
const replicaRows = (output: string): string[] =>
  output.split('\n').filter((line) => /\shttps?:\/\/\S+\s/.test(line));

const everyReplica = (output: string, state: string, failures: number): boolean => {
  const rows = replicaRows(output);
  return (
    rows.length === 3 &&
    rows.every((row) => new RegExp(`\\s${state}\\s+${failures}\\s+redis\\s`).test(row))
  );
};

/** `uniq -c` counts in `output`: how many lines were `text`. */
const counted = (output: string, text: string): number => {
  for (const line of output.split('\n')) {
    const [, times, rest] = /^\s*(\d+) (.*)$/.exec(line) ?? [];
    if (rest === text) return Number(times);
  }
  return 0;
};

/** The seed's demo: one gateway broken for everyone, the shared breaker through its states. */
export const SEED_DEMO: WalkthroughSection[] = [
  {
    title: 'Before you start',
    steps: [
      {
        text: 'The stack sends a few orders a second in the background so the dashboards are alive. Pause it, so every count below is yours:',
        command: `curl -s -X PUT {{loadGenerator}}/load -H 'authorization: Bearer {{token}}' -H 'content-type: application/json' -d '{"ratePerSecond":0}'`,
        check: (out) => {
          expect(out.includes('"ratePerSecond":0'), 'the background load is paused', out);
        },
      },
      {
        text: 'Start from a healthy gateway and a closed breaker:',
        command: 'npm run lab -- heal && npm run lab -- breaker reset',
        check: (out) => {
          expect(out.includes('gateway faults: healthy'), 'the gateway is healthy', out);
          expect(out.includes('now closed'), 'the breaker is closed', out);
        },
      },
    ],
  },
  {
    title: '1. The hot path',
    steps: [
      {
        text: 'An order goes through orders and one of the payments replicas to the gateway, and is paid:',
        command: ORDER,
        check: (out) => {
          expect(out.includes('"status":"paid"'), 'the order is paid', out);
        },
      },
      {
        text: 'Every replica sees the same closed breaker, shared through Redis:',
        command: 'npm run lab -- status',
        check: (out) => {
          expect(
            everyReplica(out, 'closed', 0),
            'all three replicas are closed with no failure',
            out,
          );
          expect(
            out.includes('as Redis holds it: closed, 0 failures'),
            'Redis holds a closed breaker',
            out,
          );
        },
      },
    ],
  },
  {
    title: '2. Break the gateway',
    steps: [
      {
        text: 'Make the gateway answer every charge with a 503 (the seed changes the partner service to return 500; here the gateway has an admin API for it), and see how many failed charges it has counted so far:',
        command: `npm run lab -- fault --error-rate 1 --error-status 503 && ${FAULTED}`,
        check: (out, memory) => {
          expect(out.includes('gateway faults: 100% answer 503'), 'every charge now fails', out);
          memory.faultedBefore = faulted(out);
          expect(!Number.isNaN(memory.faultedBefore), 'the gateway counts failed charges', out);
        },
      },
      {
        text: 'The next order fails: payments tried the gateway and got a 503.',
        command: `${ORDER} | ${REASONS}`,
        check: (out) => {
          expect(
            out.includes('"failureReason":"gateway_unavailable"'),
            'the order failed at the gateway',
            out,
          );
        },
      },
    ],
  },
  {
    title: '3. Still closed, with the failure counted',
    steps: [
      {
        text: 'One failure is below the threshold (five), so the breaker is still closed, but every replica counts the failure, wherever it happened:',
        command: 'npm run lab -- status',
        check: (out) => {
          expect(
            everyReplica(out, 'closed', 1),
            'all three replicas are closed with one failure',
            out,
          );
        },
      },
    ],
  },
  {
    title: '4. Open on every replica, and the gateway left alone',
    steps: [
      {
        text: 'Four more failures reach the threshold. The fifth order in a row to fail opens the breaker in Redis; the sixth is refused at once by the replica that gets it, without a call to the gateway:',
        command: `for i in 1 2 3 4 5; do ${ORDER} | ${REASONS}; done`,
        check: (out) => {
          expect(
            count(out, '"failureReason":"gateway_unavailable"') === 4,
            'four more orders failed at the gateway',
            out,
          );
          expect(
            count(out, '"failureReason":"circuit_open"') === 1,
            'the next order was refused by the open breaker',
            out,
          );
        },
      },
      {
        text: 'All three replicas enforce the same open breaker, and know when it will let one probe through:',
        command: 'npm run lab -- status',
        check: (out) => {
          expect(
            everyReplica(out, 'open', 5),
            'all three replicas are open after five failures',
            out,
          );
          expect(
            out.includes('as Redis holds it: open, 5 failures'),
            'Redis holds the open breaker',
            out,
          );
        },
      },
      {
        text: 'The gateway counted exactly the five failed charges that reached it:',
        command: FAULTED,
        check: (out, memory) => {
          expect(
            faulted(out) === (memory.faultedBefore ?? 0) + 5,
            'five charges reached the gateway',
            out,
          );
        },
      },
      {
        text: 'Ten more orders are all refused by the breaker (the `reject` fallback: a fast 503 with `Retry-After`, which orders records as `circuit_open`), and none reaches the gateway:',
        command: `for i in $(seq 10); do ${ORDER} | ${REASONS}; done | sort | uniq -c && ${FAULTED}`,
        check: (out, memory) => {
          expect(
            /\b10 "status":"payment_failed" "failureReason":"circuit_open"/.test(out),
            'all ten orders were refused',
            out,
          );
          expect(
            faulted(out) === (memory.faultedBefore ?? 0) + 5,
            'still only five charges reached the gateway',
            out,
          );
        },
      },
    ],
  },
  {
    title: '5. Half-open: one probe for the whole cluster',
    steps: [
      {
        text: 'After the open period ({{openSeconds}} s), the breaker lets exactly one call in the whole cluster through as a probe. Five orders at once: the gateway is still broken, so the probe fails and the breaker opens again; only the probe reached the gateway:',
        command: `sleep {{openSeconds}}; for i in 1 2 3 4 5; do (${ORDER} | ${REASONS}) & done; wait; ${FAULTED}`,
        check: (out, memory) => {
          expect(
            count(out, '"failureReason":"gateway_unavailable"') === 1,
            'exactly one order was the probe',
            out,
          );
          expect(
            count(out, '"failureReason":"circuit_open"') === 4,
            'the other four were refused',
            out,
          );
          expect(
            faulted(out) === (memory.faultedBefore ?? 0) + 6,
            'only the probe reached the gateway',
            out,
          );
        },
      },
      {
        text: 'Open again, on every replica:',
        command: 'npm run lab -- status',
        check: (out) => {
          expect(
            replicaRows(out).length === 3 && replicaRows(out).every((row) => /\sopen\s/.test(row)),
            'every replica is open again',
            out,
          );
        },
      },
    ],
  },
  {
    title: '6. Healed, and closed again',
    steps: [
      {
        text: 'Heal the gateway and wait for the open period. The next order is the probe: it succeeds, and the breaker closes for everyone:',
        command: `npm run lab -- heal && sleep {{openSeconds}} && ${ORDER} | ${REASONS}`,
        check: (out) => {
          expect(out.includes('gateway faults: healthy'), 'the gateway is healed', out);
          expect(out.includes('"status":"paid"'), 'the probe order is paid', out);
        },
      },
      {
        text: 'Closed on every replica, with every count cleared:',
        command: 'npm run lab -- status',
        check: (out) => {
          expect(everyReplica(out, 'closed', 0), 'all three replicas are closed again', out);
        },
      },
      {
        text: 'Resume the background load:',
        command: `curl -s -X PUT {{loadGenerator}}/load -H 'authorization: Bearer {{token}}' -H 'content-type: application/json' -d '{"ratePerSecond":2}'`,
        check: (out) => {
          expect(out.includes('"ratePerSecond":2'), 'the background load runs again', out);
        },
      },
    ],
  },
];

const PAUSE_LOAD = `curl -s -X PUT {{loadGenerator}}/load -H 'authorization: Bearer {{token}}' -H 'content-type: application/json' -d '{"ratePerSecond":0}'`;
const POISON_ONE =
  'npm run lab -- fault --error-rate 1 --error-status 503 --replica http://{{payments}}';
const TWENTY_FOUR_ORDERS = `for i in $(seq 24); do ${ORDER} | ${REASONS}; done | sort | uniq -c`;
const DIRECT_PAYMENTS = `for i in $(seq 6); do k=direct-$(date +%s%N); curl -s -X POST {{payments}}/payments -H 'content-type: application/json' -H "Idempotency-Key: $k" -d "{\\"orderId\\":\\"$k\\",\\"amount\\":1999,\\"currency\\":\\"EUR\\"}" | grep -o '"error":"[a-z_]*"'; done`;
const PAID = '"status":"paid"';
const AT_GATEWAY = '"status":"payment_failed" "failureReason":"gateway_unavailable"';
const REFUSED = '"status":"payment_failed" "failureReason":"circuit_open"';

/** The faults reach exactly one caller: the replica behind {{payments}}. */
function checkPoisonedOne(out: string): void {
  expect(
    /gateway faults: 100% answer 503, for replica \S+ only \(reaching \S+ of \d+ callers/.test(out),
    'the faults reach one replica only',
    out,
  );
}

/**
 * One replica's path to the gateway broken: what the shared breaker does
 * by default, and with a quorum. Restarting payments makes the chapter run
 * last in the end-to-end suite.
 */
export const POISONED_REPLICA: WalkthroughSection[] = [
  {
    title: '7. One replica’s path broken, without a quorum',
    steps: [
      {
        text: 'This chapter stands on its own. Pause the background load again, and start from a healthy gateway and a closed breaker:',
        command: `${PAUSE_LOAD} && echo && npm run lab -- heal && npm run lab -- breaker reset`,
        check: (out) => {
          expect(out.includes('"ratePerSecond":0'), 'the background load is paused', out);
          expect(out.includes('now closed'), 'the breaker is closed', out);
        },
      },
      {
        text: 'Break the gateway for one replica only: the one answering at {{payments}}. Payments names itself to the gateway in a `Caller-Replica` header, and the fault reaches only that caller (think of its network, or a bad node behind a load balancer):',
        command: POISON_ONE,
        check: checkPoisonedOne,
      },
      {
        text: 'Orders spreads its calls over the three replicas in turn, so about every third order goes through the broken path. Twenty-four orders: the shared breaker counts one run of failures for the whole cluster, and the healthy replicas’ successes keep ending it, so it never reaches five. Nothing stops the broken replica: every order it gets fails at the gateway.',
        command: TWENTY_FOUR_ORDERS,
        check: (out) => {
          const failed = counted(out, AT_GATEWAY);
          expect(
            failed >= 6 && failed <= 10,
            'about a third of the orders failed at the gateway',
            out,
          );
          expect(
            counted(out, REFUSED) === 0,
            'no order was refused: the breaker stayed closed',
            out,
          );
          expect(counted(out, PAID) === 24 - failed, 'every other order was paid', out);
        },
      },
      {
        text: 'But when the broken replica’s failures are all Redis hears (the others quiet), five in a row open the shared breaker, and for every replica. Clear the count, then send six payments straight to that replica:',
        command: `npm run lab -- breaker reset > /dev/null && ${DIRECT_PAYMENTS}`,
        check: (out) => {
          expect(
            count(out, '"error":"gateway_unavailable"') === 5,
            'five failed at the gateway',
            out,
          );
          expect(count(out, '"error":"circuit_open"') === 1, 'the sixth was refused', out);
        },
      },
      {
        text: 'All three replicas are open: one replica’s broken path now costs the two healthy ones every order until a probe gets through.',
        command: 'npm run lab -- status',
        check: (out) => {
          expect(everyReplica(out, 'open', 5), 'all three replicas are open', out);
        },
      },
    ],
  },
  {
    title: '8. The same with a quorum of two: only that replica stops',
    steps: [
      {
        text: 'Restart the payments replicas with `BREAKER_QUORUM=2` (`--wait` returns once they are healthy) and close the breaker. Each replica now also keeps a breaker of its own, and the shared one opens only once two replicas have tripped theirs. A replica’s id is its container’s, so set the fault again for the new replica at {{payments}}; orders looks the replicas up again every 2 s, hence the pause:',
        command: `BREAKER_QUORUM=2 docker compose --progress quiet up -d --wait payments && npm run lab -- breaker reset && ${POISON_ONE} && sleep 3`,
        check: (out) => {
          expect(out.includes('now closed'), 'the breaker is closed', out);
          checkPoisonedOne(out);
        },
      },
      {
        text: 'The same twenty-four orders. The broken replica fails five, and its own breaker opens: its later orders are refused at once, without a call to the gateway, and the two healthy replicas pay every order they get:',
        command: TWENTY_FOUR_ORDERS,
        check: (out) => {
          expect(counted(out, AT_GATEWAY) === 5, 'five orders failed at the gateway', out);
          expect(
            counted(out, REFUSED) >= 1 && counted(out, REFUSED) <= 5,
            'only the broken replica’s later orders were refused',
            out,
          );
          expect(
            counted(out, PAID) === 24 - 5 - counted(out, REFUSED),
            'every other order was paid',
            out,
          );
        },
      },
      {
        text: 'One replica open on its own breaker, two closed, and Redis holds the shared breaker closed: one replica is no quorum.',
        command: 'npm run lab -- status',
        check: (out) => {
          const rows = replicaRows(out);
          expect(
            rows.length === 3 &&
              rows.filter((row) => /\sopen\s/.test(row)).length === 1 &&
              rows.filter((row) => /\sclosed\s/.test(row)).length === 2,
            'one replica is open, two are closed',
            out,
          );
          expect(
            out.includes('as Redis holds it: closed,'),
            'Redis holds the shared breaker closed',
            out,
          );
        },
      },
      {
        text: 'Put the replicas back to the default (no quorum), heal the gateway, close the breaker and resume the background load:',
        command: `docker compose --progress quiet up -d --wait payments && npm run lab -- heal && npm run lab -- breaker reset && curl -s -X PUT {{loadGenerator}}/load -H 'authorization: Bearer {{token}}' -H 'content-type: application/json' -d '{"ratePerSecond":2}'`,
        check: (out) => {
          expect(out.includes('gateway faults: healthy'), 'the gateway is healed', out);
          expect(out.includes('now closed'), 'the breaker is closed', out);
          expect(out.includes('"ratePerSecond":2'), 'the background load runs again', out);
        },
      },
    ],
  },
];

/** The README's walkthrough, every chapter in order. */
export const WALKTHROUGH: WalkthroughSection[] = [...SEED_DEMO, ...POISONED_REPLICA];
