// The import rules of src/ and ground/: no cycles, and arrows between folders run one way,
// from the entry points down to the shared vocabulary (README "Layout").
// A layer may import itself and any layer below it, never one above it.
// dependency-cruiser cannot parse TypeScript 7 yet, so scripts/dependency-rules.ts
// cruises a type-stripped copy of src/ (type-only imports kept as edges);
// paths below therefore match both .ts and .js.
const LAYERS = [
  ['cli', '^src/(cli|cli-options|commands|heap-limits)\\.[jt]s$'],
  ['main', '^src/main\\.[jt]s$'],
  ['service', '^src/service\\.[jt]s$'],
  ['http', '^src/http/'],
  ['metrics', '^src/(metrics|metrics-process|target-info)\\.[jt]s$'],
  ['engine', '^src/engine/'],
  ['report', '^src/report/'],
  ['checks', '^src/checks/'],
  ['aws', '^src/aws/'],
  ['config', '^src/config/'],
  ['model', '^src/(model/|version\\.[jt]s$)'],
];

const upward = LAYERS.slice(1).map(([name, path], i) => ({
  name: `no-upward-from-${name}`,
  comment: `${name} sits below ${LAYERS.slice(0, i + 1)
    .map(([n]) => n)
    .join(', ')} and must not import them`,
  severity: 'error',
  from: { path },
  to: {
    path: LAYERS.slice(0, i + 1)
      .map(([, p]) => `(${p})`)
      .join('|'),
  },
}));

// A module outside every layer would escape the direction rules.
const inALayer = {
  name: 'src-module-in-a-layer',
  comment: 'every module of src/ belongs to a layer above; add a new top-level file to LAYERS',
  severity: 'error',
  from: { path: '^src/', pathNot: LAYERS.map(([, p]) => `(${p})`).join('|') },
  to: {},
};

module.exports = {
  forbidden: [
    inALayer,
    {
      name: 'no-circular',
      comment: 'a cycle makes two modules one; break it by moving the shared part down',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'model-is-a-leaf',
      comment: 'src/model/ is the shared vocabulary and imports nothing of ours',
      severity: 'error',
      from: { path: '^src/model/' },
      to: { path: '^src/', pathNot: '^src/model/' },
    },
    {
      name: 'ground-shared-is-a-leaf',
      comment: 'ground/shared/ serves every peer of the ground and imports none of them',
      severity: 'error',
      from: { path: '^ground/shared/' },
      to: { path: '^ground/', pathNot: '^ground/shared/' },
    },
    {
      name: 'src-stands-alone',
      comment: 'the product does not import the ground, tests, bench or scripts',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(ground|test|bench|scripts)/' },
    },
    ...upward,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
  },
};
