import { serverProblem } from './server-check';

/** The lines of a real `INFO` answer the check reads (Redis 7.0.15 and 6.2.14). */
const info = (version: string, clusterEnabled: 0 | 1) =>
  `# Server\r\nredis_version:${version}\r\nredis_mode:${clusterEnabled ? 'cluster' : 'standalone'}\r\n` +
  `\r\n# Cluster\r\ncluster_enabled:${clusterEnabled}\r\n`;

describe('serverProblem', () => {
  it('accepts Redis 7 and later, standalone or a cluster node reached as a cluster', () => {
    expect(serverProblem(info('7.0.15', 0), true)).toBeUndefined();
    expect(serverProblem(info('7.4.2', 1), false)).toBeUndefined();
    expect(serverProblem(info('8.0.0', 0), true)).toBeUndefined();
  });

  it('refuses a Redis older than 7.0, saying which version it found', () => {
    expect(serverProblem(info('6.2.14', 0), true)).toMatch(
      /reached Redis 6\.2\.14, and needs Redis 7\.0 or later/,
    );
  });

  it('refuses a cluster node given as a standalone URL', () => {
    expect(serverProblem(info('7.0.15', 1), true)).toMatch(/standalone Redis URL .* Cluster node/);
  });

  it('lets a server that does not say its version pass (the scripts will tell)', () => {
    expect(serverProblem('# Cluster\r\ncluster_enabled:0\r\n', true)).toBeUndefined();
  });
});
