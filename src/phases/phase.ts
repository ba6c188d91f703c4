import type { Config } from '../config/schema.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';

export const PHASE_NAMES = ['infrastructure', 'ingestion', 'processing', 'output'] as const;
export type PhaseName = (typeof PHASE_NAMES)[number];

export function isPhaseName(value: string): value is PhaseName {
  return (PHASE_NAMES as readonly string[]).includes(value);
}

export type ChangeAction = 'create' | 'update' | 'delete' | 'none';

/** One resource a step would change, with a human-readable diff (like `terraform plan`). */
export interface PlannedChange {
  readonly resource: string;
  readonly action: ChangeAction;
  readonly diff: string;
}

export type StepStatus = 'succeeded' | 'failed' | 'skipped';

export interface StepReport {
  readonly name: string;
  readonly status: StepStatus;
  readonly detail: string;
}

/** Reports progress of long work (a snapshot, waiting for RUNNING) to the person watching. */
export interface Progress {
  update(label: string, done: number, total: number): void;
  note(message: string): void;
  done(): void;
}

/** What a step may use; built once per run by the command, real clients behind small interfaces. */
export interface PhaseContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly progress: Progress;
  /** Options of the run that steps honour: `--prune` for topics, `--workers` for processing, `--accept-breaking` for source schema drift. */
  readonly options: Readonly<{ prune: boolean; workers?: number | undefined; acceptBreaking?: boolean | undefined }>;
  /** Who runs the command, for audit entries a step writes itself. */
  readonly actor?: string | undefined;
  /** Where the command runs (the local stack lives under it) and the --config it was given. */
  readonly cwd: string;
  readonly configFile: string | undefined;
  /** Masks resolved secrets in text the run stores (phase runs, the audit log), which no output redactor sees. */
  readonly redact?: ((text: string) => string) | undefined;
}

/**
 * A small, named, idempotent step of a phase. `plan` has no side effects and says what `apply`
 * would change; `apply` converges the resource (safe to repeat); `verify` checks the result and
 * throws (CheckFailedError, or DependencyError when a service is unreachable) when it does not hold.
 */
export interface PhaseStep {
  readonly name: string;
  plan(): Promise<readonly PlannedChange[]>;
  apply(changes: readonly PlannedChange[]): Promise<string>;
  verify(): Promise<string>;
}

export interface Phase {
  readonly name: PhaseName;
  readonly description: string;
  /** Builds the steps in order; resources they hold are released by `close`. */
  steps(ctx: PhaseContext): Promise<PhaseSteps>;
}

export interface PhaseSteps {
  readonly steps: readonly PhaseStep[];
  close(): Promise<void>;
}
