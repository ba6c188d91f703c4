import { describe, expect, it } from 'vitest';
import { UsageError } from '../../core/errors.ts';
import { assertLibraryVersion, installedLibraryVersion, PATCHED_VERSION } from './library-patches.ts';

describe('the library version guard', () => {
  it('finds the installed version to be the one the patches were verified against (package.json pins it)', () => {
    expect(installedLibraryVersion()).toBe(PATCHED_VERSION);
  });

  it('refuses any other version with what to do', () => {
    expect(() => assertLibraryVersion(PATCHED_VERSION)).not.toThrow();
    for (const other of ['2.12.2', '2.13.0', '1.35.0']) {
      expect(() => assertLibraryVersion(other)).toThrow(UsageError);
      expect(() => assertLibraryVersion(other)).toThrow(new RegExp(`${other.replace(/\./g, '\\.')} is installed.*verified against ${PATCHED_VERSION.replace(/\./g, '\\.')}`));
    }
  });
});
