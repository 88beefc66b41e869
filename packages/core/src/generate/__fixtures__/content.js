// Self-validating generated files: "LSTEST <generation> <path> <length> <sha1>\n<body>".
// A reader can tell a whole file from a torn, empty or mixed one without
// knowing which generation it expects.
const crypto = require('crypto');

const STABLE = [];
for (let i = 0; i < 30; i++) STABLE.push(`f${String(i).padStart(2, '0')}.txt`);
for (let i = 0; i < 15; i++) STABLE.push(`sub/a/g${String(i).padStart(2, '0')}.txt`);
for (let i = 0; i < 15; i++) STABLE.push(`sub/b/deep/h${String(i).padStart(2, '0')}.txt`);

function body(generation, file, size) {
  const unit = `${generation}:${file};`;
  return unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
}

/** The files of one generation: the stable set plus one file that only odd or even generations have. */
function generationFiles(generation, scale = 1) {
  const files = {};
  STABLE.forEach((file, i) => {
    const b = body(generation, file, ((i * 7919) % 40) * 1024 * scale + 100);
    const sha = crypto.createHash('sha1').update(b).digest('hex');
    files[file] = `LSTEST ${generation} ${file} ${Buffer.byteLength(b)} ${sha}\n${b}`;
  });
  const extra = `only-${generation.length % 2}.txt`;
  files[extra] = `LSTEST ${generation} ${extra} 0 ${crypto.createHash('sha1').update('').digest('hex')}\n`;
  return files;
}

/** 'ok' with the generation, or what is wrong with the bytes. */
function check(text, file) {
  if (text.length === 0) return { ok: false, why: 'empty' };
  const nl = text.indexOf('\n');
  const header = nl < 0 ? text : text.slice(0, nl);
  const [magic, generation, name, length, sha] = header.split(' ');
  if (magic !== 'LSTEST' || name !== file) return { ok: false, why: `bad header '${header.slice(0, 80)}'` };
  const b = text.slice(nl + 1);
  if (Buffer.byteLength(b) !== Number(length)) return { ok: false, why: `torn: ${Buffer.byteLength(b)} of ${length} bytes` };
  if (crypto.createHash('sha1').update(b).digest('hex') !== sha) return { ok: false, why: 'torn: checksum' };
  if (b.length > 0 && !b.startsWith(`${generation}:${file};`)) return { ok: false, why: 'mixed generations' };
  return { ok: true, generation };
}

module.exports = { STABLE, generationFiles, check };
