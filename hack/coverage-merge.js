#!/usr/bin/env node
// Merges jest's coverage (coverage/jest/coverage-final.json) with the V8
// coverage the krilld processes wrote (coverage/krilld/*.json, NODE_V8_COVERAGE),
// and writes coverage/coverage-final.json and coverage/summary.txt: lines and
// branches per directory of pkg/ and cmd/, and the total.
//
// krilld runs dist/**/*.js; their source maps lead back to the .ts files jest
// reports, so both land on the same keys. Processes are merged on V8's raw
// ranges first (@bcoe/v8-coverage), then converted once per script (v8-to-istanbul).
// Every tool used here comes with jest.
'use strict';
const { existsSync, readdirSync, readFileSync, writeFileSync } = require('node:fs');
const { join, relative, resolve, dirname } = require('node:path');
const { fileURLToPath } = require('node:url');
const { mergeProcessCovs } = require('@bcoe/v8-coverage');
const v8toIstanbul = require('v8-to-istanbul');
const libCoverage = require('istanbul-lib-coverage');
const { TraceMap, eachMapping } = require('@jridgewell/trace-mapping');

const repo = resolve(__dirname, '..');
const out = resolve(process.argv[2] ?? join(repo, 'coverage'));
const dist = join(repo, 'dist');

/** A product file that counts: pkg/ or cmd/, no tests or test helpers. */
function counted(tsPath) {
  const rel = relative(repo, tsPath);
  if (!/^(pkg|cmd)\//.test(rel) || !rel.endsWith('.ts') || rel.endsWith('.d.ts')) return false;
  return !/\.test\.ts$/.test(rel) && !/(^|\/)testing(\/|\.ts$)/.test(rel);
}

async function krilldCoverage() {
  const dir = join(out, 'krilld');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
  const processes = [];
  for (const f of files) {
    let data;
    try {
      data = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    } catch {
      continue; // a file cut short
    }
    const result = (data.result ?? []).filter((s) => s.url.startsWith('file://') && fileURLToPath(s.url).startsWith(dist + '/') && /\/dist\/(pkg|cmd)\//.test(s.url));
    if (result.length > 0) processes.push({ result });
  }
  const map = libCoverage.createCoverageMap({});
  if (processes.length === 0) return { map, processes: 0 };
  const merged = mergeProcessCovs(processes);
  for (const script of merged.result) {
    const path = fileURLToPath(script.url);
    const conv = v8toIstanbul(path, 0);
    await conv.load();
    conv.applyCoverage(script.functions);
    const data = conv.toIstanbul();
    for (const [file, cov] of Object.entries(data)) if (counted(file)) map.merge({ [file]: cov });
    conv.destroy();
  }
  return { map, processes: processes.length };
}

/** Every counted .ts file under dir, recursively. */
function productFiles(dir) {
  const found = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) found.push(...productFiles(p));
    else if (counted(p)) found.push(p);
  }
  return found;
}

/**
 * A file no test and no krilld loaded counts with all its code unrun (as c8's
 * --all does: one range over the whole compiled file with a count of 0).
 * Files that compile to no code (types only) are left out.
 */
async function unloaded(tsPath) {
  const js = join(dist, relative(repo, tsPath)).replace(/\.ts$/, '.js');
  if (!existsSync(js)) return undefined;
  const source = readFileSync(js, 'utf8');
  const code = source
    .split('\n')
    .filter((l) => !/^\s*(\/\/|$|"use strict";|Object\.defineProperty\(exports, "__esModule")/.test(l))
    .join('');
  if (code === '') return undefined;
  const conv = v8toIstanbul(js, 0);
  await conv.load();
  conv.applyCoverage([{ functionName: '(empty-report)', isBlockCoverage: true, ranges: [{ startOffset: 0, endOffset: source.length, count: 0 }] }]);
  const data = conv.toIstanbul();
  conv.destroy();
  return data;
}

/**
 * The lines of a .ts file that compile to code (tsc's source map has a mapping from them): V8 counts
 * every line outside a range it saw unrun as run, comments and types included, so lines % overstates;
 * "code lines" counts only these.
 */
function codeLines(tsPath) {
  const mapFile = join(dist, relative(repo, tsPath)).replace(/\.ts$/, '.js.map');
  const lines = new Set();
  if (!existsSync(mapFile)) return lines;
  const map = new TraceMap(JSON.parse(readFileSync(mapFile, 'utf8')), mapFile);
  eachMapping(map, (m) => {
    if (m.originalLine !== null && m.source && resolve(dirname(mapFile), m.source) === tsPath) lines.add(m.originalLine);
  });
  return lines;
}

function pct(covered, total) {
  return total === 0 ? '  n/a' : `${((100 * covered) / total).toFixed(1).padStart(5)}`;
}

async function main() {
  const map = libCoverage.createCoverageMap({});
  const jestFile = join(out, 'jest', 'coverage-final.json');
  if (existsSync(jestFile)) {
    const jest = JSON.parse(readFileSync(jestFile, 'utf8'));
    for (const [file, cov] of Object.entries(jest)) if (counted(file)) map.merge({ [file]: cov });
  }
  const k = await krilldCoverage();
  map.merge(k.map);
  const seen = new Set(map.files());
  let never = 0;
  for (const file of [...productFiles(join(repo, 'pkg')), ...productFiles(join(repo, 'cmd'))]) {
    if (seen.has(file)) continue;
    const data = await unloaded(file);
    if (!data) continue;
    never++;
    for (const [f, cov] of Object.entries(data)) if (counted(f)) map.merge({ [f]: cov });
  }
  writeFileSync(join(out, 'coverage-final.json'), JSON.stringify(map.toJSON()));

  // Per directory (pkg/<area>, cmd/<tool>) and in total.
  const groups = new Map();
  const add = (key, s, code) => {
    const g = groups.get(key) ?? { lc: 0, lt: 0, cc: 0, ct: 0, bc: 0, bt: 0, files: 0 };
    g.lc += s.lines.covered;
    g.lt += s.lines.total;
    g.cc += code.covered;
    g.ct += code.total;
    g.bc += s.branches.covered;
    g.bt += s.branches.total;
    g.files++;
    groups.set(key, g);
  };
  for (const file of map.files()) {
    const fc = map.fileCoverageFor(file);
    const s = fc.toSummary();
    const executable = codeLines(file);
    const lineHits = fc.getLineCoverage();
    const code = { covered: 0, total: 0 };
    for (const [line, hits] of Object.entries(lineHits)) {
      if (!executable.has(Number(line))) continue;
      code.total++;
      if (hits > 0) code.covered++;
    }
    const rel = relative(repo, file);
    add(rel.split('/').slice(0, 2).join('/'), s, code);
    add(`${rel.split('/')[0]}/ (all)`, s, code);
    add('total', s, code);
  }
  const lines = [
    `coverage of pkg/ and cmd/: jest (${existsSync(jestFile) ? 'unit/integration in-process' : 'none'}) + ${k.processes} krilld process(es); ${never} file(s) never loaded count as unrun`,
    'lines: every line (V8 takes comments and types in a loaded file as run; jest counts a types-only file as unrun); code lines: only lines tsc emits code for',
    `${'directory'.padEnd(24)} ${'files'.padStart(5)}  ${'lines %'.padEnd(22)}  ${'code lines %'.padEnd(22)}  branches %`,
  ];
  const keys = [...groups.keys()].sort((a, b) => (a === 'total') - (b === 'total') || a.localeCompare(b));
  for (const key of keys) {
    const g = groups.get(key);
    const col = (c, t) => `${pct(c, t)} (${c}/${t})`.padEnd(22);
    lines.push(`${key.padEnd(24)} ${String(g.files).padStart(5)}  ${col(g.lc, g.lt)}  ${col(g.cc, g.ct)}  ${pct(g.bc, g.bt)} (${g.bc}/${g.bt})`);
  }
  const text = lines.join('\n') + '\n';
  writeFileSync(join(out, 'summary.txt'), text);
  process.stdout.write('\n' + text);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
