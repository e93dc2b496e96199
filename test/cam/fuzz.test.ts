// Seeded fuzz of the CAM image loader: random and mutated PNG/JPEG bytes give a decoded image or a UserError, never a crash.
import { expect } from 'chai';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { decodeImage } from '../../src/cam/image-file.js';
import { UserError } from '../../src/errors.js';
import { Rng } from '../../src/util/rng.js';

function mutate(src: Buffer, rng: Rng): Buffer {
  const b = Buffer.from(src);
  const kind = rng.int(4);
  if (kind === 0) for (let k = 0; k < 1 + rng.int(8); k++) b[rng.int(b.length)] = rng.int(256);
  if (kind === 1) return b.subarray(0, rng.int(b.length));
  if (kind === 2) b[8 + rng.int(Math.min(32, b.length - 8))] ^= 1 << rng.int(8); // header fields
  if (kind === 3) return Buffer.from(Array.from({ length: rng.int(200) }, () => rng.int(256)));
  return b;
}

describe('cam image loader fuzz (seeded)', function () {
  this.timeout(60_000);

  it('2000 mutated PNG and JPEG files: decoded or rejected with a UserError naming the file', () => {
    const png = new PNG({ width: 6, height: 5 });
    for (let i = 0; i < png.data.length; i++) png.data[i] = (i * 37) % 256;
    const goodPng = PNG.sync.write(png);
    const goodJpeg = Buffer.from(jpeg.encode({ data: Buffer.from(png.data), width: 6, height: 5 }, 90).data);
    const rng = new Rng('cam-fuzz');
    let rejected = 0;
    for (let i = 0; i < 2000; i++) {
      const name = `case${i}.img`;
      const bytes = mutate(i % 2 ? goodPng : goodJpeg, rng);
      try {
        const img = decodeImage(bytes, name);
        expect(img.rgba.length).to.equal(img.width * img.height * 4);
      } catch (e) {
        if (!(e instanceof UserError)) throw new Error(`${name}: ${(e as Error).stack}`);
        expect(e.message).to.contain(name);
        rejected++;
      }
    }
    expect(rejected).to.be.greaterThan(500);
  });

  it('a PNG header claiming 100000x100000 pixels is refused before decoding', () => {
    const png = PNG.sync.write(new PNG({ width: 2, height: 2 }));
    png.writeUInt32BE(100000, 16);
    png.writeUInt32BE(100000, 20);
    expect(() => decodeImage(png, 'huge.png')).to.throw(UserError, 'huge.png');
  });
});
