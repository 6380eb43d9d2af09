/**
 * Base images for tests, from the same variables the Dockerfile and
 * docker-compose.yml read, with the same official defaults.
 */
export const images = {
  node: process.env.NODE_IMAGE ?? 'node:24.11.0-bookworm-slim',
  redis: process.env.REDIS_IMAGE ?? 'redis:7.4.2-bookworm',
  prometheus: process.env.PROMETHEUS_IMAGE ?? 'prom/prometheus:v3.5.0',
} as const;
