// The ES module entry: the CommonJS build's exports, so that both styles share one copy of
// every class (an instanceof check holds whichever way a service loads the package).
export * from '../dist/index.js';
