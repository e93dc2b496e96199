// Image files to model inputs: PNG/JPEG decoding, bilinear resizing, grey conversion, alpha; figure PNGs decode back.
import { expect } from 'chai';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { Canvas } from '../../src/cam/canvas.js';
import { jet } from '../../src/cam/colormap.js';
import { camFigure, gridFigure } from '../../src/cam/figure.js';
import { textWidth } from '../../src/cam/font.js';
import { decodeImage, toModelImage, type DecodedImage } from '../../src/cam/image-file.js';

function rgba(width: number, height: number, px: number[][]): DecodedImage {
  return { width, height, rgba: Uint8Array.from(px.flat()) };
}

describe('cam/image-file and figures', () => {
  it('resizes bilinearly with half-pixel centres (2x1 -> 4x1) and keeps RGB', async () => {
    const img = rgba(2, 1, [[0, 100, 200, 255], [80, 100, 0, 255]]);
    // 1-D half-pixel weights for 2 -> 4: [a, .75a+.25b, .25a+.75b, b].
    expect(Array.from(await toModelImage(img, 1, 4, 3))).to.deep.equal([0, 100, 200, 20, 100, 150, 60, 100, 50, 80, 100, 0]);
  });

  it('converts to grey with ITU-R 601 weights and composites alpha over black', async () => {
    const img = rgba(2, 1, [[255, 0, 0, 255], [200, 200, 200, 0]]);
    expect(Array.from(await toModelImage(img, 1, 2, 1))).to.deep.equal([76, 0]); // 0.299 * 255 = 76.2
  });

  it('decodes PNG and JPEG by their magic numbers', () => {
    const p = new PNG({ width: 3, height: 2 });
    p.data.fill(128);
    const png = decodeImage(PNG.sync.write(p), 'a.png');
    expect([png.width, png.height, png.rgba.length]).to.deep.equal([3, 2, 24]);
    const j = jpeg.encode({ data: Buffer.alloc(5 * 4 * 4, 200), width: 5, height: 4 }, 95);
    const jpg = decodeImage(j.data, 'a.jpg');
    expect([jpg.width, jpg.height]).to.deep.equal([5, 4]);
    expect(jpg.rgba[0]).to.be.within(195, 205);
    expect(() => decodeImage(Buffer.from('GIF89a'), 'a.gif')).to.throw(/a.gif: not a PNG or JPEG/);
  });

  it('draws figures that decode back to the expected size, with the jet colormap\'s ends', () => {
    expect(jet(0)).to.deep.equal([0, 0, 128]);
    expect(jet(1)).to.deep.equal([128, 0, 0]);
    expect(jet(0.5)).to.deep.equal([128, 255, 128]);
    const map = Float32Array.from({ length: 16 }, (_, i) => i);
    const fig = camFigure(
      { image: new Uint8Array(16 * 3).fill(90), height: 4, width: 4, channels: 3, map, title: ['pred disc 90%'], camBox: [1, 1, 3, 3] },
      2,
    );
    expect([fig.width, fig.height]).to.deep.equal([3 * 8 + 16, 4 + 10 + 8 + 8]);
    const back = PNG.sync.read(fig.toPng());
    expect([back.width, back.height]).to.deep.equal([fig.width, fig.height]);
    // The heat panel's first pixel is the map's minimum: jet(0).
    const o = ((4 + 10 + 4) * fig.width + 4 + 8 + 4) * 4;
    expect(Array.from(back.data.subarray(o, o + 3))).to.deep.equal([0, 0, 128]);
    const grid = gridFigure([fig, fig, fig], 2);
    expect([grid.width, grid.height]).to.deep.equal([2 * fig.width + 1, 2 * fig.height + 1]);
    expect(textWidth('ab', 2)).to.equal(22);
    expect(() => new Canvas(0, 3)).to.throw(/bad size/);
  });
});
