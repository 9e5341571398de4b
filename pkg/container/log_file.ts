// A container's log file, made ready before conmon opens (or reopens) it.
// log_path is below the pod's log_directory by its text (validate.ts); here
// it must also be below it on disk: no directory between the two, and not the
// file itself, may be a symlink, whoever put it there (a container with the
// log directory mounted can). The file is created with O_NOFOLLOW, so conmon
// then opens a regular file that is already there.
import { constants } from 'node:fs';
import { lstat, mkdir, open, realpath } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { invalidArgument, isErrno } from '../errors/errors';

const LOG_FILE_MODE = 0o640;
const LOG_DIR_MODE = 0o755;

/**
 * Makes `logPath` (absolute, below `logDirectory`) a regular file reached
 * through no symlink below the log directory (the directory itself may be
 * one, as /var/log/pods often is). Missing directories are made. Returns
 * whether the file was created by this call.
 */
export async function prepareLogFile(logDirectory: string, logPath: string): Promise<boolean> {
  const rel = relative(logDirectory, logPath);
  const parts = rel.split(sep).filter(Boolean);
  const refuse = (why: string): never => {
    throw invalidArgument(`log path ${JSON.stringify(logPath)} ${why}; it must stay inside the pod's log_directory ${JSON.stringify(logDirectory)}`);
  };
  if (parts.length === 0 || parts.includes('..')) refuse('is not a file below the log directory');
  await mkdir(logDirectory, { recursive: true, mode: LOG_DIR_MODE });
  let dir = await realpath(logDirectory);
  for (const part of parts.slice(0, -1)) {
    dir = join(dir, part);
    try {
      const st = await lstat(dir);
      if (st.isSymbolicLink()) refuse(`goes through a symlink (${dir})`);
      if (!st.isDirectory()) refuse(`goes through ${dir}, which is not a directory`);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
      await mkdir(dir, { mode: LOG_DIR_MODE });
    }
  }
  const file = join(dir, parts[parts.length - 1]!);
  let created = false;
  let handle;
  try {
    handle = await open(file, constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if (isErrno(err, 'ELOOP')) refuse('is a symlink');
    if (isErrno(err, 'EISDIR') || isErrno(err, 'ENXIO')) refuse('is not a regular file');
    if (!isErrno(err, 'ENOENT')) throw err;
    handle = await open(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, LOG_FILE_MODE);
    created = true;
  }
  try {
    if (!(await handle.stat()).isFile()) refuse('is not a regular file');
  } finally {
    await handle.close();
  }
  return created;
}
