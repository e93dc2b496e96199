// loadDataset: one entry point from the `data` config to a Dataset (synthetic, CIFAR-10/100, MNIST, Fashion-MNIST).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DataConfig } from '../config/schema.js';
import { UserError } from '../errors.js';
import { CIFAR_LAYOUT, cifarPlacement, findCifarFolder, readCifar, type CifarKind } from './cifar.js';
import { fetchCifar, fetchIdx, idxHint } from './fetch.js';
import { isDir, isFile, listDir, resolveDataDir } from './files.js';
import { hasIdxFiles, readIdxFolder } from './idx.js';
import { DEFAULT_SOURCES, type DataSources } from './sources.js';
import { syntheticDataset } from './synthetic.js';
import { head, type Dataset } from './types.js';

/** Where Debian's `dataset-fashion-mnist` package installs the four Fashion-MNIST files. */
export const SYSTEM_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

const IDX_DATASETS = {
  mnist: { title: 'MNIST', classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] },
  'fashion-mnist': {
    title: 'Fashion-MNIST',
    classNames: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
  },
} as const;

/**
 * Folder for derived data worth keeping between runs (fitted ZCA matrices): `.cache` inside the dataset folder, or,
 * when that folder is read-only (a shared dataset: no write bit, which root would otherwise ignore, or not writable),
 * `<XDG_CACHE_HOME or ~/.cache>/gaplab/data/<hash of the dataset folder>`. Pass it as fitPreprocessor's `cacheDir`.
 */
export function dataCacheDir(cfg: Pick<DataConfig, 'dir'>, env: NodeJS.ProcessEnv = process.env): string {
  const dir = path.resolve(resolveDataDir(cfg.dir, env));
  if (writableFolder(dir)) return path.join(dir, '.cache');
  const home = env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), '.cache');
  return path.join(home, 'gaplab', 'data', createHash('sha256').update(dir).digest('hex').slice(0, 16));
}

/** A folder we may write into: it has a write bit and access() agrees. A missing folder counts (it will be created). */
function writableFolder(dir: string): boolean {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    return true;
  }
  if ((st.mode & 0o222) === 0) return false;
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Test seams: download sources, environment and the system Fashion-MNIST folder. */
export interface LoadOptions {
  sources?: Partial<DataSources>;
  env?: NodeJS.ProcessEnv;
  systemFashionDir?: string;
}

/** Why nothing was found in `dir`, for error messages. */
function describeDir(dir: string): string {
  if (!isDir(dir)) return `${dir} does not exist`;
  return listDir(dir).length === 0 ? `${dir} is empty` : `${dir} holds none of the expected files`;
}

function checkNotFile(dir: string): void {
  if (isFile(dir)) {
    throw new UserError(`data.dir: ${dir} is a file; expected a folder for dataset files`);
  }
}

async function loadCifar(kind: CifarKind, cfg: DataConfig, dir: string, sources: DataSources, log: (l: string) => void): Promise<Dataset> {
  let folder = findCifarFolder(dir, kind);
  if (!folder) {
    const title = CIFAR_LAYOUT[kind].title;
    if (!cfg.download) {
      throw new UserError(
        `no ${title} files: ${describeDir(dir)} and data.download is false. ` +
          `To install it, ${cifarPlacement(dir, kind)} (or set data.download: true).`,
      );
    }
    log(`${title} not found in ${dir}; downloading`);
    try {
      folder = await fetchCifar(kind, dir, sources[kind], log);
    } catch (e) {
      if (e instanceof UserError) throw new UserError(`no ${title} files: ${describeDir(dir)}; ${e.message}`);
      throw e;
    }
  }
  const { classNames, train, test } = readCifar(folder, kind, cfg.labels, log);
  return { name: kind, classNames, train, test };
}

async function loadIdx(
  name: 'mnist' | 'fashion-mnist',
  cfg: DataConfig,
  dir: string,
  opts: LoadOptions,
  sources: DataSources,
  log: (l: string) => void,
): Promise<Dataset> {
  const { title, classNames } = IDX_DATASETS[name];
  // Both datasets use the same file names, so each gets its own subfolder; files directly in data.dir count too.
  const own = path.join(dir, name);
  const candidates = [own, dir];
  if (name === 'fashion-mnist') candidates.push(opts.systemFashionDir ?? SYSTEM_FASHION_MNIST_DIR);
  let folder = candidates.find(hasIdxFiles);
  if (!folder) {
    if (!cfg.download) {
      throw new UserError(`no ${title} files: ${describeDir(own)} and ${describeDir(dir)}, data.download is false. ${idxHint(own, title, sources[name])}`);
    }
    log(`${title} not found in ${own}; downloading`);
    await fetchIdx(own, title, sources[name], log);
    folder = own;
  }
  const { train, test } = readIdxFolder(folder, classNames.length);
  if (train.height !== test.height || train.width !== test.width) {
    throw new UserError(`${folder}: training images are ${train.height}x${train.width} but test images ${test.height}x${test.width}`);
  }
  log(`${title}: ${train.n} training and ${test.n} test images from ${folder}`);
  return { name, classNames: [...classNames], train, test };
}

/**
 * Loads the configured dataset and applies data.trainLimit / data.testLimit (first N images).
 * The dataset folder is $GAPLAB_DATA_DIR when set, else data.dir. Missing CIFAR/MNIST files are downloaded when
 * data.download is true; every failure is a UserError saying which files to place where.
 */
export async function loadDataset(
  cfg: DataConfig,
  seed: number,
  log: (line: string) => void = () => {},
  opts: LoadOptions = {},
): Promise<Dataset> {
  const sources: DataSources = { ...DEFAULT_SOURCES, ...opts.sources };
  let ds: Dataset;
  if (cfg.name === 'synthetic') {
    ds = syntheticDataset(cfg.synthetic, seed);
  } else {
    const dir = resolveDataDir(cfg.dir, opts.env);
    checkNotFile(dir);
    ds =
      cfg.name === 'mnist' || cfg.name === 'fashion-mnist'
        ? await loadIdx(cfg.name, cfg, dir, opts, sources, log)
        : await loadCifar(cfg.name, cfg, dir, sources, log);
  }
  const train = head(ds.train, cfg.trainLimit);
  const test = head(ds.test, cfg.testLimit);
  log(
    `dataset ${ds.name}: ${train.n} training, ${test.n} test images of ${train.height}x${train.width}x${train.channels}, ` +
      `${ds.classNames.length} classes` +
      (train.n < ds.train.n || test.n < ds.test.n ? ` (limited from ${ds.train.n} / ${ds.test.n})` : ''),
  );
  return { ...ds, train, test };
}
