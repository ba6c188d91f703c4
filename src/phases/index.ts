import { infrastructurePhase } from './infrastructure/index.ts';
import { ingestionPhase } from './ingestion/index.ts';
import { outputPhase } from './output/index.ts';
import { processingPhase } from './processing/index.ts';
import type { Phase, PhaseName } from './phase.ts';


export const PHASES: Readonly<Record<PhaseName, Phase>> = {
  infrastructure: infrastructurePhase,
  ingestion: ingestionPhase,
  processing: processingPhase,
  output: outputPhase,
};
