/** The README walkthrough as a package export: its steps, and the runner that plays them. */
export {
  README_VARIABLES,
  render,
  runWalkthrough,
  toMarkdown,
  type RunOptions,
  type StepResult,
  type WalkthroughVariables,
} from './run-walkthrough';
export {
  POISONED_REPLICA,
  SEED_DEMO,
  WALKTHROUGH,
  WalkthroughClaimError,
  type WalkthroughSection,
  type WalkthroughStep,
} from './steps';
