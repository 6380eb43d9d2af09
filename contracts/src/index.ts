/**
 * The lab's wire contract, in one place: the zod schema and type of every
 * HTTP body and answer between the services, the lab command line, the load
 * generator and the tests, and the closed list of error codes. Servers
 * validate request bodies with these schemas (an unknown field is a 400 that
 * names it); clients parse answers with them.
 */
export { bodyObject, timestampSchema, unknownFields } from './body';
export {
  type Charge,
  chargeListSchema,
  type ChargeRequest,
  chargeRequestSchema,
  chargeSchema,
  type RecordedCharge,
  recordedChargeSchema,
} from './charges';
export {
  BREAKER_STATES,
  type BreakerState,
  MAX_ISOLATION_MS,
  circuitActionSchema,
  circuitIsolateSchema,
  type CircuitView,
  circuitViewSchema,
  sharedStateSchema,
} from './circuit';
export {
  type ErrorBody,
  errorBodySchema,
  ERROR_CODES,
  type ErrorCode,
  isErrorCode,
} from './errors';
export {
  CALLER_HEADER,
  callerIdSchema,
  type CallerList,
  callerListSchema,
  describeScope,
  type Faults,
  type FaultScope,
  type FaultsPatch,
  faultsPatchSchema,
  faultsSchema,
  HEALTHY,
  isFaultStatus,
  MAX_FAULT_DELAY_MS,
  MAX_SCOPE_REPLICAS,
} from './faults';
export { type LoadStatus, loadRateRequestSchema, loadStatusSchema, MAX_LOAD_RATE } from './load';
export {
  amountSchema,
  currencySchema,
  identifierSchema,
  isCurrencyCode,
  MAX_AMOUNT_MINOR,
} from './money';
export {
  FINAL_ORDER_STATUSES,
  type Order,
  ORDER_STATUSES,
  type OrderRequest,
  orderRequestSchema,
  orderSchema,
  type OrderStatus,
} from './orders';
export {
  FINAL_PAYMENT_STATUSES,
  type Payment,
  PAYMENT_FAILURE_REASONS,
  PAYMENT_STATUSES,
  type PaymentFailureReason,
  type PaymentRequest,
  paymentRequestSchema,
  paymentSchema,
  type PaymentStatus,
} from './payments';
export {
  type EndedScenarioStatus,
  MAX_REPEAT,
  MAX_SCALE,
  MAX_STEP_MS,
  MAX_STEPS,
  MAX_TOTAL_STEPS,
  MIN_SCALE,
  MIN_STEP_MS,
  type PresetList,
  presetListSchema,
  PRESET_NAMES,
  type PresetName,
  type RunningScenarioStatus,
  SCENARIO_OUTCOMES,
  type ScenarioOutcome,
  type ScenarioRequest,
  scenarioNameSchema,
  scenarioRequestSchema,
  type ScenarioStatus,
  scenarioStatusSchema,
  scenarioStepSchema,
  type StepStatus,
  tooManyInAll,
} from './scenarios';
