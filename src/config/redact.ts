import { isPlainObject } from './secrets.ts';

const SECRET_KEY = /^(password|secret|token|apiKey)$/i;
const URL_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)[^@\s/]+@/i;

/**
 * A copy of the configuration fit to show: values written as references show the template with
 * each reference masked, keys that hold secrets show "***", URL passwords are masked.
 */
export function redactConfig(config: unknown, references: ReadonlyMap<string, string>): unknown {
  const walk = (node: unknown, path: string, key: string): unknown => {
    const template = references.get(path);
    if (template !== undefined) {
      const masked = template.replace(/\$\{(env|file):[^}]+\}/g, '***');
      return /^\*\*\*$/.test(masked) || SECRET_KEY.test(key) ? '***' : masked;
    }
    if (typeof node === 'string') {
      if (SECRET_KEY.test(key)) return '***';
      return node.replace(URL_PASSWORD, '$1***@');
    }
    if (Array.isArray(node)) return node.map((item, i) => walk(item, `${path}.${i}`, key));
    if (isPlainObject(node)) {
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v, path ? `${path}.${k}` : k, k)]));
    }
    return node;
  };
  return walk(config, '', '');
}
