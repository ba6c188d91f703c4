import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ASSETS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'assets');

/** Fills `{{TOKEN}}` placeholders of an asset; an unknown or unfilled token is a programming error. */
export function renderTemplate(relativePath: string, values: Readonly<Record<string, string | number>>): string {
  const text = fs.readFileSync(path.join(ASSETS_DIR, relativePath), 'utf8');
  const rendered = text.replace(/\{\{([A-Z0-9_]+)\}\}/g, (match, token: string) => {
    const value = values[token];
    if (value === undefined) throw new Error(`template ${relativePath}: no value for ${match}`);
    return String(value);
  });
  return rendered;
}
