import { describe, expect, it } from 'vitest';
import { commandNameOf, main } from './main.ts';

describe('loading only the command a command line names', () => {
  it('finds the command word past the global options and --config’s value', () => {
    expect(commandNameOf(['processor', 'run', '--instance', 'w2'])).toBe('processor');
    expect(commandNameOf(['--json', '--config', 'status', 'status'])).toBe('status');
    expect(commandNameOf(['--config=prod.yaml', '--verbose', 'validate'])).toBe('validate');
    expect(commandNameOf(['--help'])).toBeUndefined();
    expect(commandNameOf([])).toBeUndefined();
  });

  it('still lists every command in the help and suggests the right one for a misspelt name', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { cwd: process.cwd(), env: {}, writeOut: (t: string) => void out.push(t), writeErr: (t: string) => void err.push(t) };
    expect(await main(['--help'], io)).toBe(0);
    for (const name of ['init', 'dev', 'phase', 'processor', 'workers', 'cutover', 'rollback', 'demo', 'sink', 'validate', 'status', 'dlq', 'dashboard']) expect(out.join('')).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    expect(await main(['procesor', 'run'], io)).toBe(2);
    expect(err.join('')).toContain('Did you mean processor?');
  });
});
