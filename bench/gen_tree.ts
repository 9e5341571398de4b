// Writes one layer's files of a bench image (bench/lib/tree_plan.ts) into a
// directory, for bench/images.sh, which packs the layer with umoci. Node.js
// sets no xattrs: those go to a `setfattr --restore` file and the file
// capabilities to a list for `setcap`, both applied by the script. Uses
// nothing of Krill's (no tar, no unpacking).
//
// Usage: node dist/bench/gen_tree.js write IMAGE LAYER ROOTFS XATTRS_FILE CAPS_FILE
//        node dist/bench/gen_tree.js describe IMAGE
//   (describe prints JSON: each layer's created_by and planned facts)
import { chmodSync, lchownSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ContentMaker } from './lib/tree_content';
import { imageSpec, layerStats, planImage, sumStats, type Entry } from './lib/tree_plan';

function hex(s: string): string {
  return `0x${Buffer.from(s).toString('hex')}`;
}

function write(image: string, layer: number, rootfs: string, xattrsFile: string, capsFile: string): void {
  const spec = imageSpec(image);
  const plan = planImage(spec);
  const l = plan[layer];
  if (!l) throw new Error(`${image} has ${plan.length} layers (0 to ${plan.length - 1})`);
  const maker = new ContentMaker(image);
  const xattrs: string[] = [];
  const caps: string[] = [];
  const at = (p: string): string => join(rootfs, p);
  const owned = (e: Entry & { owner?: { uid: number; gid: number } }): void => {
    if (e.owner) lchownSync(at(e.path), e.owner.uid, e.owner.gid);
  };
  for (const e of l.entries) {
    switch (e.type) {
      case 'dir':
        mkdirSync(at(e.path), { recursive: true });
        chmodSync(at(e.path), e.mode);
        owned(e);
        break;
      case 'file':
        mkdirSync(dirname(at(e.path)), { recursive: true });
        writeFileSync(at(e.path), maker.make(e.kind, e.size, e.path));
        chmodSync(at(e.path), e.mode);
        owned(e);
        if (e.xattrs) xattrs.push(`# file: ${at(e.path)}`, ...e.xattrs.map(([n, v]) => `${n}=${hex(v)}`), '');
        if (e.cap) caps.push(`${e.cap} ${at(e.path)}`);
        break;
      case 'symlink':
        symlinkSync(e.target, at(e.path));
        break;
      case 'hardlink':
        linkSync(at(e.target), at(e.path));
        break;
    }
  }
  writeFileSync(xattrsFile, xattrs.length ? `${xattrs.join('\n')}\n` : '');
  writeFileSync(capsFile, caps.length ? `${caps.join('\n')}\n` : '');
}

function describe(image: string): string {
  const spec = imageSpec(image);
  const layers = planImage(spec).map((l) => ({ createdBy: l.createdBy, ...layerStats(l.entries) }));
  return JSON.stringify({ name: spec.name, description: spec.description, layers, total: sumStats(layers) });
}

function main(argv: string[]): void {
  const [cmd, image, ...rest] = argv;
  if (cmd === 'write' && image && rest.length === 4) {
    const [layer, rootfs, xattrsFile, capsFile] = rest as [string, string, string, string];
    write(image, Number(layer), rootfs, xattrsFile, capsFile);
  } else if (cmd === 'describe' && image && rest.length === 0) {
    process.stdout.write(`${describe(image)}\n`);
  } else {
    throw new Error('usage: gen_tree.js write IMAGE LAYER ROOTFS XATTRS_FILE CAPS_FILE | describe IMAGE');
  }
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`gen_tree: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
