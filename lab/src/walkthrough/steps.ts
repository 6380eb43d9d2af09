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

export const WALKTHROUGH: WalkthroughSection[] = [
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
