import { NotImplementedError } from '../core/errors.ts';
import { infrastructurePhase } from './infrastructure/index.ts';
import { ingestionPhase } from './ingestion/index.ts';
import { outputPhase } from './output/index.ts';
import { processingPhase } from './processing/index.ts';
import type { Phase, PhaseName } from './phase.ts';

/** Phases of later issues, listed so `phase list` shows the whole migration. */
function planned(name: PhaseName, description: string, issue: number): Phase {
  return {
    name,
    description,
    steps: async () => {
      throw new NotImplementedError(`phase ${name} is not available in this build yet (issue ${issue})`);
    },
  };
}

export const PHASES: Readonly<Record<PhaseName, Phase>> = {
  infrastructure: infrastructurePhase,
  ingestion: ingestionPhase,
  processing: processingPhase,
  output: outputPhase,
};
