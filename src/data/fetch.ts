// First-use download of CIFAR-10/100 archives and MNIST-family files into the data folder, checksum-verified.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { CIFAR_LAYOUT, cifarPlacement, findCifarFolder, type CifarKind } from './cifar.js';
import { downloadFile, ensureDir, extractTarGz, verifyFile } from './download.js';
import { isFile } from './files.js';
import { IDX_FILES } from './idx.js';
import type { ArchiveSource, IdxSource } from './sources.js';

/** What to do by hand when the download is impossible: the archive's address and the folder for its files. */
export function cifarHint(dir: string, kind: CifarKind, source: ArchiveSource): string {
  const archive = path.basename(new URL(source.url).pathname);
  return (
    `To install ${CIFAR_LAYOUT[kind].title} by hand, ${cifarPlacement(dir, kind)}; ` +
    `or download ${source.url} (md5 ${source.md5}) and put ${archive} in ${dir}, where it is verified and extracted.`
  );
}

/**
 * Makes the CIFAR files available under `dir`: an archive already in `dir` is verified, otherwise downloaded;
 * then extracted and deleted. Returns the folder holding the files.
 */
export async function fetchCifar(
  kind: CifarKind,
  dir: string,
  source: ArchiveSource,
  log: (line: string) => void = () => {},
): Promise<string> {
  const hint = cifarHint(dir, kind, source);
  ensureDir(dir, 'data');
  const archive = path.join(dir, path.basename(new URL(source.url).pathname));
  if (isFile(archive)) {
    log(`verifying ${archive}`);
    await verifyFile(archive, source.md5, hint);
  } else {
    await downloadFile(source.url, archive, source.md5, hint, log);
  }
  log(`extracting ${archive}`);
  await extractTarGz(archive, dir);
  const folder = findCifarFolder(dir, kind);
  if (!folder) {
    throw new UserError(`${archive}: extracted, but it holds no ${CIFAR_LAYOUT[kind].title} files. ${hint}`);
  }
  fs.rmSync(archive, { force: true });
  return folder;
}

/** What to do by hand for an MNIST-family dataset. */
export function idxHint(folder: string, title: string, source: IdxSource): string {
  const files = Object.values(IDX_FILES).map((f) => `${f}.gz`);
  return `To install ${title} by hand, place ${files.join(', ')} (gzipped or not) in ${folder} (from ${source.baseUrl}).`;
}

/** Downloads the four MNIST-family files that are missing from `folder`. */
export async function fetchIdx(
  folder: string,
  title: string,
  source: IdxSource,
  log: (line: string) => void = () => {},
): Promise<void> {
  const hint = idxHint(folder, title, source);
  ensureDir(folder, 'data');
  for (const base of Object.values(IDX_FILES)) {
    if (isFile(path.join(folder, base)) || isFile(path.join(folder, `${base}.gz`))) continue;
    const name = `${base}.gz`;
    const md5 = source.md5[name];
    if (!md5) throw new Error(`no checksum known for ${name}`);
    await downloadFile(source.baseUrl + name, path.join(folder, name), md5, hint, log);
  }
}
