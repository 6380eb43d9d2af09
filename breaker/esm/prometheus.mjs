// The ES module entry of the Prometheus metrics: see index.mjs.
export * from '../dist/prometheus.js';
