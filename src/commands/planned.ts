import type { Command } from 'commander';
import { NotImplementedError } from '../core/errors.ts';
import type { Register } from './registry.ts';

/** Commands of DESIGN.md that later issues build; listed in --help, refusing with exit 2 meanwhile. */
const PLANNED: readonly { readonly name: string; readonly description: string; readonly issue: number }[] = [
];

export const registerPlanned: Register = (program: Command, action) => {
  for (const planned of PLANNED) {
    program
      .command(planned.name)
      .description(`${planned.description} (not built yet)`)
      .allowUnknownOption()
      .allowExcessArguments()
      .helpOption(false)
      .argument('[args...]')
      .action(
        action(async () => {
          throw new NotImplementedError(`\`stream-migrate ${planned.name}\` is not available in this build yet (issue ${planned.issue}); see --help for what is`);
        }),
      );
  }
};
