// Draws the Relais icons (public/icons/*.png and icon.svg) from simple
// shapes: two dots joined by a bar, white on teal — a relay between a young
// person and a programme. Run `npm run icons` after changing the design; the
// files it writes are committed, so a build needs no image tooling.
import { deflateSync } from 'node:zlib';
import { writeFileSync, mkdirSync } from 'node:fs';

const BG = [0x0b, 0x55, 0x63];
const FG = [0xff, 0xff, 0xff];

// Shapes in a 0..1 square. The mark stays inside the centre 60 % so that
// the "maskable" icon survives any launcher mask.
const dots = [
  { x: 0.33, y: 0.62, r: 0.11 },
  { x: 0.67, y: 0.38, r: 0.11 },
];
const bar = { ax: 0.33, ay: 0.62, bx: 0.67, by: 0.38, half: 0.045 };

function inMark(x, y) {
  for (const d of dots) if ((x - d.x) ** 2 + (y - d.y) ** 2 <= d.r ** 2) return true;
  const vx = bar.bx - bar.ax, vy = bar.by - bar.ay;
  const t = Math.max(0, Math.min(1, ((x - bar.ax) * vx + (y - bar.ay) * vy) / (vx * vx + vy * vy)));
  const px = bar.ax + t * vx, py = bar.ay + t * vy;
  return (x - px) ** 2 + (y - py) ** 2 <= bar.half ** 2;
}

function inRoundedSquare(x, y, radius) {
  const cx = Math.min(Math.max(x, radius), 1 - radius);
  const cy = Math.min(Math.max(y, radius), 1 - radius);
  return (x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

function png(size, { rounded }) {
  const SS = 4; // supersampling for smooth edges
  const rows = [];
  for (let py = 0; py < size; py++) {
    const row = Buffer.alloc(1 + size * 4); // filter byte 0, then RGBA
    for (let px = 0; px < size; px++) {
      let bg = 0, fg = 0;
      for (let sy = 0; sy < SS; sy++) for (let sx = 0; sx < SS; sx++) {
        const x = (px + (sx + 0.5) / SS) / size, y = (py + (sy + 0.5) / SS) / size;
        if (rounded && !inRoundedSquare(x, y, 0.2)) continue;
        if (inMark(x, y)) fg++; else bg++;
      }
      const n = SS * SS, cover = (bg + fg) / n;
      const o = 1 + px * 4;
      for (let i = 0; i < 3; i++) {
        row[o + i] = cover ? Math.round((BG[i] * bg + FG[i] * fg) / (bg + fg)) : 0;
      }
      row[o + 3] = Math.round(cover * 255);
    }
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0); header.writeUInt32BE(size, 4);
  header[8] = 8; header[9] = 6; // 8-bit RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows), { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function svg() {
  const s = (v) => +(v * 512).toFixed(1);
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">
<rect width="512" height="512" rx="${s(0.2)}" fill="#0b5563"/>
<line x1="${s(bar.ax)}" y1="${s(bar.ay)}" x2="${s(bar.bx)}" y2="${s(bar.by)}" stroke="#fff" stroke-width="${s(bar.half * 2)}" stroke-linecap="round"/>
${dots.map((d) => `<circle cx="${s(d.x)}" cy="${s(d.y)}" r="${s(d.r)}" fill="#fff"/>`).join('\n')}
</svg>
`;
}

const out = new URL('../public/icons/', import.meta.url);
mkdirSync(out, { recursive: true });
writeFileSync(new URL('icon-192.png', out), png(192, { rounded: true }));
writeFileSync(new URL('icon-512.png', out), png(512, { rounded: true }));
writeFileSync(new URL('maskable-512.png', out), png(512, { rounded: false }));
writeFileSync(new URL('apple-touch-icon.png', out), png(180, { rounded: false }));
writeFileSync(new URL('icon.svg', out), svg());
console.log('icons written to', out.pathname);
