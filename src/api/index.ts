// The `salvo` package entry: everything a workflow file imports. Small and typed end to end;
// internal modules are not exported from here.
export { workflow, isWorkflow, Workflow } from './workflow.js';
export type {
  Metrics,
  VuInfo,
  StepContext,
  SetupContext,
  TeardownContext,
  StepOptions,
  HookOptions,
  WorkflowOptions,
  ResultOf,
} from './workflow.js';
export {
  constantVus,
  rampingVus,
  sharedIterations,
  constantArrivalRate,
  rampingArrivalRate,
} from './executors.js';
export type { ExecutorConfig, StageInput } from './executors.js';
export type { Duration } from './duration.js';
export { HttpClient, HttpResponse, HttpError } from '../clients/http1/index.js';
export type {
  HttpErrorKind,
  HttpTimings,
  RequestOptions,
  HttpClientOptions,
} from '../clients/http1/index.js';
export type { ReporterConfig, ReporterKind, ReporterSpec } from '../reporters/config.js';
export type {
  Reporter,
  ReportStart,
  ReportWindow,
  WindowWorkflow,
  WindowStep,
  FinalReport,
  BreakdownGroup,
  Labels,
} from '../reporters/types.js';
