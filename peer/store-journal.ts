// Rolls back a hot rollback journal before SQLite opens the store. node-sqlite3-wasm's file
// system layer answers "is the database reserved?" by the presence of `<path>.lock`, which its own
// lock creates first, so SQLite never sees a journal left by a killed process as hot and would
// read half-written pages ("database disk image is malformed", or silently wrong rows). The
// store's opener (store-db.ts) has made sure no live process owns the file; this plays the
// journal back as SQLite would (https://www.sqlite.org/fileformat.html "The Rollback Journal"):
// every record whose checksum holds is written back, the file is cut to its size before the
// transaction, and the journal is emptied.

import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';

const MAGIC = Buffer.from([0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7]);
const HEADER_BYTES = 28;

/**
 * Plays back `<path>-journal` into `path` if it holds a transaction that never committed; returns
 * the number of pages restored (0: no hot journal). Throws on an I/O error (the caller reports the
 * store as damaged, naming it).
 */
export function rollBackHotJournal(path: string): number {
  const journalPath = `${path}-journal`;
  if (!existsSync(journalPath) || !existsSync(path)) return 0;
  const journal = openSync(journalPath, 'r+');
  try {
    const size = fstatSync(journal).size;
    if (size < HEADER_BYTES || !startsWithMagic(journal, 0)) return 0;
    const db = openSync(path, 'r+');
    let restored = 0;
    let originalPages = -1;
    let pageSize = 0;
    try {
      let offset = 0;
      while (offset + HEADER_BYTES <= size && startsWithMagic(journal, offset)) {
        const header = read(journal, offset, HEADER_BYTES);
        const nRec = header.readUInt32BE(8);
        const nonce = header.readUInt32BE(12);
        const pages = header.readUInt32BE(16);
        const sector = header.readUInt32BE(20);
        pageSize = header.readUInt32BE(24);
        if (pageSize < 512 || pageSize > 65536 || sector < HEADER_BYTES || sector > 65536) break;
        if (originalPages < 0) originalPages = pages;
        const record = pageSize + 8;
        let at = offset + sector;
        // -1 (not synced, synchronous=OFF): as many records as the file holds.
        const count = nRec === 0xffffffff ? Math.floor((size - at) / record) : nRec;
        for (let i = 0; i < count && at + record <= size; i++, at += record) {
          const r = read(journal, at, record);
          const pgno = r.readUInt32BE(0);
          const data = r.subarray(4, 4 + pageSize);
          if (pgno === 0 || checksum(nonce, data) !== r.readUInt32BE(4 + pageSize)) {
            at = size; // a torn record: nothing after it was ever written to the database
            break;
          }
          if (pgno <= pages) {
            writeSync(db, data, 0, pageSize, (pgno - 1) * pageSize);
            restored++;
          }
        }
        // A further segment starts at the next sector boundary.
        offset = Math.ceil(at / sector) * sector;
      }
      if (originalPages >= 0 && pageSize > 0) ftruncateSync(db, originalPages * pageSize);
      fsyncSync(db);
    } finally {
      closeSync(db);
    }
    ftruncateSync(journal, 0);
    fsyncSync(journal);
    return restored;
  } finally {
    closeSync(journal);
  }
}

/** SQLite's journal record checksum: the nonce plus every 200th byte from the page's end. */
function checksum(nonce: number, page: Buffer): number {
  let sum = nonce;
  for (let x = page.length - 200; x >= 0; x -= 200) sum = (sum + page[x]!) >>> 0;
  return sum >>> 0;
}

function startsWithMagic(fd: number, offset: number): boolean {
  return read(fd, offset, MAGIC.length).equals(MAGIC);
}

function read(fd: number, offset: number, bytes: number): Buffer {
  const buf = Buffer.alloc(bytes);
  const n = readSync(fd, buf, 0, bytes, offset);
  return n === bytes ? buf : buf.subarray(0, n);
}
