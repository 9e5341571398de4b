// Jest transform: TypeScript (and ESM-only JavaScript dependencies) to
// CommonJS with typescript's transpileModule. Type checking is tsc's job
// (npm run build), so tests start fast.
const ts = require('typescript');
const { createHash } = require('node:crypto');

const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2023,
  esModuleInterop: true,
  sourceMap: false,
  inlineSourceMap: true,
  inlineSources: true,
  allowJs: true,
};

module.exports = {
  process(source, filename) {
    const out = ts.transpileModule(source, { compilerOptions, fileName: filename });
    return { code: out.outputText };
  },
  getCacheKey(source, filename) {
    return createHash('sha256').update(ts.version).update('\0').update(filename).update('\0').update(source).digest('hex');
  },
};
