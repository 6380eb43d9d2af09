import { MemoryBreakerStore } from './memory-breaker-store';
import { describeStoreContract } from './store-contract.fixture';

describeStoreContract('memory', () => new MemoryBreakerStore());
