// Writes media/icon.png (128x128): two speech bubbles on the VS Code blue, drawn pixel by pixel so
// the repo needs no image tool. Run once; the PNG is committed.
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const size = 128;
const px = Buffer.alloc(size * (size * 4 + 1));
const inRoundRect = (x, y, x0, y0, x1, y1, r) => {
  const cx = Math.min(Math.max(x, x0 + r), x1 - r);
  const cy = Math.min(Math.max(y, y0 + r), y1 - r);
  return x >= x0 && x <= x1 && y >= y0 && y <= y1 && (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
};
for (let y = 0; y < size; y++) {
  px[y * (size * 4 + 1)] = 0;
  for (let x = 0; x < size; x++) {
    let c = [0, 0, 0, 0];
    if (inRoundRect(x, y, 4, 4, 123, 123, 24)) c = [0, 122, 204, 255];
    const back = inRoundRect(x, y, 52, 44, 108, 88, 12) || (x >= 88 && x <= 100 && y >= 86 && y <= 100 - (x - 88));
    const front = inRoundRect(x, y, 20, 28, 84, 76, 12) || (x >= 30 && x <= 44 && y >= 74 && y <= 90 - (44 - x));
    if (back) c = [173, 216, 255, 255];
    if (front) c = [255, 255, 255, 255];
    if (front && y >= 49 && y <= 55 && [36, 52, 68].some((d) => Math.abs(x - d) <= 3)) c = [0, 122, 204, 255];
    c.forEach((v, i) => (px[y * (size * 4 + 1) + 1 + x * 4 + i] = v));
  }
}
const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc = (buf) => {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
const chunk = (type, data) => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type), data]);
  const c = Buffer.alloc(4);
  c.writeUInt32BE(crc(td));
  return Buffer.concat([len, td, c]);
};
const ihdr = Buffer.alloc(13);
ihdr.writeUInt32BE(size, 0);
ihdr.writeUInt32BE(size, 4);
ihdr.set([8, 6, 0, 0, 0], 8);
const png = Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(px)), chunk('IEND', Buffer.alloc(0))]);
writeFileSync(new URL('../media/icon.png', import.meta.url), png);
