import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareLogFile } from './log_file';

let dir: string;
let logs: string;
let outside: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'krill-logfile-'));
  logs = join(dir, 'pod-logs');
  outside = join(dir, 'outside');
  mkdirSync(logs);
  mkdirSync(outside);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('makes the file (and missing directories) below the log directory, once', async () => {
  expect(await prepareLogFile(logs, join(logs, 'web', '0.log'))).toBe(true);
  expect(statSync(join(logs, 'web', '0.log')).isFile()).toBe(true);
  expect(statSync(join(logs, 'web', '0.log')).mode & 0o777).toBe(0o640);
  expect(await prepareLogFile(logs, join(logs, 'web', '0.log'))).toBe(false);
});

test('a directory below the log directory that is a symlink out of it is refused, and nothing is made there', async () => {
  symlinkSync(outside, join(logs, 'web'));
  await expect(prepareLogFile(logs, join(logs, 'web', '0.log'))).rejects.toThrow(/goes through a symlink .*must stay inside the pod's log_directory/);
  expect(readdirSync(outside)).toEqual([]);
});

test('a log file that is a symlink is refused, even to a file that exists', async () => {
  writeFileSync(join(outside, 'passwd'), 'root:x:0:0\n');
  symlinkSync(join(outside, 'passwd'), join(logs, '0.log'));
  await expect(prepareLogFile(logs, join(logs, '0.log'))).rejects.toThrow(/is a symlink/);
  symlinkSync(join(outside, 'nothing-yet'), join(logs, '1.log'));
  await expect(prepareLogFile(logs, join(logs, '1.log'))).rejects.toThrow(/is a symlink/);
  expect(readdirSync(outside)).toEqual(['passwd']);
});

test('the log directory itself may be a symlink (as /var/log/pods often is)', async () => {
  const real = join(dir, 'real-logs');
  mkdirSync(real);
  symlinkSync(real, join(dir, 'linked-logs'));
  expect(await prepareLogFile(join(dir, 'linked-logs'), join(dir, 'linked-logs', 'c', '0.log'))).toBe(true);
  expect(lstatSync(join(real, 'c', '0.log')).isFile()).toBe(true);
});

test('something other than a regular file at the path is refused', async () => {
  mkdirSync(join(logs, '0.log'));
  await expect(prepareLogFile(logs, join(logs, '0.log'))).rejects.toThrow(/is not a regular file/);
  writeFileSync(join(logs, 'file'), '');
  await expect(prepareLogFile(logs, join(logs, 'file', '0.log'))).rejects.toThrow(/not a directory/);
});
