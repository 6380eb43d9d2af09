import { endpointsFrom, parse, parseDuration, parseNumber } from './args';
import { LabError } from './stack';

describe('lab arguments', () => {
  it('reads durations in ms, s and m, and bare seconds', () => {
    expect(parseDuration('--duration', '500ms')).toBe(500);
    expect(parseDuration('--duration', '30s')).toBe(30_000);
    expect(parseDuration('--duration', '2m')).toBe(120_000);
    expect(parseDuration('--duration', '1.5')).toBe(1_500);
    expect(() => parseDuration('--duration', 'soon')).toThrow(
      new LabError('--duration: expected a duration such as 30s, 2m, 1h or 500ms (got "soon")'),
    );
    expect(() => parseDuration('--duration', '0s')).toThrow('expected a duration above zero');
  });

  it('checks numbers against their bounds', () => {
    expect(parseNumber('--rate', '12.5', 0.1, 1_000)).toBe(12.5);
    expect(() => parseNumber('--rate', '0', 0.1, 1_000)).toThrow(
      '--rate: expected a number from 0.1 to 1000 (got "0")',
    );
    expect(() => parseNumber('--rate', '', 0.1, 1_000)).toThrow('--rate');
  });

  it('refuses unknown options and unexpected words, pointing at the help', () => {
    expect(() => parse('status', ['--nope'], {})).toThrow(
      /Unknown option '--nope'.*See: npm run lab -- status --help/,
    );
    expect(() => parse('status', ['extra'], {})).toThrow(
      'unexpected "extra". See: npm run lab -- status --help',
    );
    expect(() => parse('scenario', [], {}, { min: 1, max: 1 })).toThrow('missing argument');
    expect(parse('scenario', ['outage'], {}, { min: 1, max: 1 }).positionals).toEqual(['outage']);
  });

  it('takes endpoints from flags, then the environment, then the defaults', () => {
    const saved = { ...process.env };
    try {
      process.env.LAB_ORDERS_URL = 'http://orders.test:1';
      process.env.ADMIN_TOKEN = 'from-env';
      delete process.env.LAB_PAYMENTS_URLS;
      const endpoints = endpointsFrom({
        gateway: 'http://gw.test:2/ignored/path',
        payments: 'http://a:1, http://b:2',
      });
      expect(endpoints).toEqual({
        orders: 'http://orders.test:1',
        payments: ['http://a:1', 'http://b:2'],
        gateway: 'http://gw.test:2',
        prometheus: 'http://localhost:9090',
        adminToken: 'from-env',
      });
      expect(() => endpointsFrom({ orders: 'localhost' })).toThrow('--orders: expected a URL');
    } finally {
      process.env = saved;
    }
  });
});
