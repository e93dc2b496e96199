// Where each downloadable dataset comes from and its published checksums (injectable so tests can serve their own).

/** One archive to fetch: CIFAR-10/100 come as a single .tar.gz. */
export interface ArchiveSource {
  url: string;
  /** MD5 of the whole archive, hex, as published with it. */
  md5: string;
}

/** MNIST-family files: four .gz files under one base URL. */
export interface IdxSource {
  /** Base URL ending in '/', the file name is appended. */
  baseUrl: string;
  /** MD5 per file name (the four `*.gz` files). */
  md5: Record<string, string>;
}

export interface DataSources {
  cifar10: ArchiveSource;
  cifar100: ArchiveSource;
  mnist: IdxSource;
  'fashion-mnist': IdxSource;
}

/** The official sources (CIFAR: the authors' page; MNIST: the mirror torchvision uses; Fashion-MNIST: Zalando's bucket). */
export const DEFAULT_SOURCES: DataSources = {
  cifar10: {
    url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
    md5: 'c32a1d4ab5d03f1284b67883e8d87530',
  },
  cifar100: {
    url: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz',
    md5: '03b5dce01913d631647c71ecec9e9cb8',
  },
  mnist: {
    baseUrl: 'https://ossci-datasets.s3.amazonaws.com/mnist/',
    md5: {
      'train-images-idx3-ubyte.gz': 'f68b3c2dcbeaaa9fbdd348bbdeb94873',
      'train-labels-idx1-ubyte.gz': 'd53e105ee54ea40749a09fcbcd1e9432',
      't10k-images-idx3-ubyte.gz': '9fb629c4189551a2d022fa330f9573f3',
      't10k-labels-idx1-ubyte.gz': 'ec29112dd5afa0611ce80d1b7f02629c',
    },
  },
  'fashion-mnist': {
    baseUrl: 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
    md5: {
      'train-images-idx3-ubyte.gz': '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
      'train-labels-idx1-ubyte.gz': '25c81989df183df01b3e8a0aad5dffbe',
      't10k-images-idx3-ubyte.gz': 'bef4ecab320f06d8554ea6380940ec79',
      't10k-labels-idx1-ubyte.gz': 'bb300cfdad3c16e7a12a480ee83cd310',
    },
  },
};
