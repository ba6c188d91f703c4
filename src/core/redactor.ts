/**
 * Removes known secret values from any text before it reaches output, logs or reports.
 * Secrets are registered when the configuration resolves them.
 */
export class Redactor {
  private readonly secrets = new Set<string>();

  add(secret: string): void {
    // Very short values would redact ordinary words; they are still masked in `config show`.
    if (secret.length >= 4) this.secrets.add(secret);
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join('***');
    return maskUrlPasswords(out);
  }
}

/** Masks the password of every `scheme://user:password@` in `text`; for messages built from configured URLs. */
export function maskUrlPasswords(text: string): string {
  return text.replace(URL_PASSWORD, '$1***@');
}

/** `scheme://user:password@host` → `scheme://user:***@host`. */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)[^@\s/]+@/gi;
