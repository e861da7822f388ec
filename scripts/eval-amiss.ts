// Measures amiss detection on the labelled support messages of eval/amiss (labelling guide: eval/amiss/README.md).
//
//   npm run eval:amiss                    both parts
//   npm run eval:amiss -- --split tuning  one part (tune on this one only; never read the held-out misses)
//
// Prints recall, precision and F1 overall, by category and by language, for each part; how often the language was
// detected right; then every miss and false alarm with its text and what fired. Exits 1 when a part printed misses
// the targets (recall >= 0.90, precision >= 0.85, recall >= 0.80 in every language).
import { figures, type Figures, groupBy, judge, readSet, type Split, TARGETS, type Verdict } from './amiss-evaluation.js';

const only = process.argv.includes('--split') ? (process.argv[process.argv.indexOf('--split') + 1] as Split) : undefined;
if (only && only !== 'tuning' && only !== 'held-out') {
  console.error('--split takes tuning or held-out');
  process.exit(2);
}

const pct = (x: number) => x.toFixed(3);
const row = (name: string, f: Figures) =>
  `  ${name.padEnd(14)} ${String(f.items).padStart(5)} ${String(f.amiss).padStart(6)} ${pct(f.recall).padStart(7)} ${pct(f.precision).padStart(9)} ${pct(f.f1).padStart(6)} ${String(f.falseNegatives).padStart(7)} ${String(f.falsePositives).padStart(7)}`;
const header = `  ${''.padEnd(14)} ${'items'.padStart(5)} ${'amiss'.padStart(6)} ${'recall'.padStart(7)} ${'precision'.padStart(9)} ${'F1'.padStart(6)} ${'misses'.padStart(7)} ${'alarms'.padStart(7)}`;

const items = readSet();
const verdicts: Verdict[] = [];
for (const item of items) verdicts.push(await judge(item));

let failed = false;
for (const split of ['tuning', 'held-out'] as const) {
  if (only && split !== only) continue;
  const part = verdicts.filter((v) => v.item.split === split);
  const overall = figures(part);
  console.log(`\n== ${split}: ${part.length} items ==`);
  console.log(header);
  console.log(row('overall', overall));
  console.log('  by category');
  for (const [category, group] of groupBy(part, (v) => v.item.category)) console.log(row(category, figures(group)));
  console.log('  by language');
  const byLanguage = groupBy(part, (v) => v.item.language);
  for (const [language, group] of byLanguage) console.log(row(language, figures(group)));

  const messages = part.flatMap((v) => v.detected.map((d) => d === v.item.language));
  console.log(`  language detected right for ${messages.filter(Boolean).length} of ${messages.length} messages`);

  const misses = part.filter((v) => v.item.label === 'amiss' && !v.flagged);
  const alarms = part.filter((v) => v.item.label === 'fine' && v.flagged);
  console.log(`  misses (${misses.length})`);
  for (const v of misses) console.log(`    ${v.item.id} [${v.item.category}] ${(v.item.messages ?? [v.item.text]).join(' || ')}`);
  console.log(`  false alarms (${alarms.length})`);
  for (const v of alarms) console.log(`    ${v.item.id} [${v.item.category}] ${(v.item.messages ?? [v.item.text]).join(' || ')}  <- ${v.why.join('; ')}`);
  const wrongLanguage = part.filter((v) => v.detected.some((d) => d !== v.item.language));
  if (wrongLanguage.length > 0) {
    console.log(`  read in another language (${wrongLanguage.length})`);
    for (const v of wrongLanguage) console.log(`    ${v.item.id} ${v.item.language} -> ${v.detected.join(',')}: ${(v.item.messages ?? [v.item.text]).join(' || ')}`);
  }

  const short: string[] = [];
  if (overall.recall < TARGETS.recall) short.push(`recall ${pct(overall.recall)} < ${TARGETS.recall}`);
  if (overall.precision < TARGETS.precision) short.push(`precision ${pct(overall.precision)} < ${TARGETS.precision}`);
  for (const [language, group] of byLanguage) {
    const r = figures(group).recall;
    if (r < TARGETS.languageRecall) short.push(`${language} recall ${pct(r)} < ${TARGETS.languageRecall}`);
  }
  console.log(short.length === 0 ? '  targets: met' : `  targets: MISSED (${short.join('; ')})`);
  failed ||= short.length > 0;
}
process.exit(failed ? 1 : 0);
