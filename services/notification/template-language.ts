// The template language: Liquid (liquidjs), sandboxed. No I/O: a template can read only the variables a
// notification offers, cannot include files (no file system is reachable), and parsing and rendering are bounded in
// size, time and memory, so a saved template cannot hurt the replica that renders it.
//
// One engine per kind of output: HTML parts escape every output, Slack blocks escape outputs as JSON string
// content, text parts (subject, SMS, mrkdwn, push, in-app) are left as written.
import { Liquid, LiquidError, type Template as Parsed } from 'liquidjs';
import { Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { priorityLabel } from './metrics.js';

/** The variables a notification offers to its templates, by name. */
export const TEMPLATE_VARIABLES = ['title', 'body', 'data', 'type', 'priority', 'notification_id', 'locale'] as const;

export type Escaping = 'text' | 'html' | 'json';

export interface TemplateVariables {
  title: string;
  body: string;
  data: Record<string, string>;
  type: string;
  priority: string;
  notification_id: string;
  locale: string;
}

/** Liquid must never reach the disk: every lookup of a partial finds nothing. */
const NO_FILES = {
  exists: async () => false,
  existsSync: () => false,
  readFile: async () => '',
  readFileSync: () => '',
  resolve: (_root: string, file: string) => file,
};

function jsonStringContent(value: unknown): string {
  return JSON.stringify(String(value ?? '')).slice(1, -1);
}

function engine(escaping: Escaping): Liquid {
  return new Liquid({
    fs: NO_FILES,
    root: [],
    partials: [],
    relativeReference: false,
    layouts: [],
    strictFilters: true,
    outputEscape: escaping === 'html' ? 'escape' : escaping === 'json' ? jsonStringContent : undefined,
    parseLimit: 100_000,
    renderLimit: 200, // ms of rendering per template
    memoryLimit: 10_000_000,
  });
}

const ENGINES: Record<Escaping, Liquid> = { text: engine('text'), html: engine('html'), json: engine('json') };

export interface CompiledPart {
  escaping: Escaping;
  parsed: Parsed[];
}

/** A problem in a template, with its line (1-based) when known. */
export interface TemplateProblem {
  line?: number;
  problem: string;
}

/** liquidjs ends its messages with ", line:3, col:5": keep the line, drop the rest. */
function problemOf(err: unknown): TemplateProblem {
  if (!(err instanceof LiquidError)) return { problem: err instanceof Error ? err.message : String(err) };
  const match = /, line:(\d+), col:\d+$/.exec(err.message);
  const problem = (match ? err.message.slice(0, match.index) : err.message).split('\n')[0];
  return { line: match ? Number(match[1]) : undefined, problem };
}

/**
 * Parses a part and checks every variable it reads is one a notification offers. Returns the compiled part, or
 * the problems found (a syntax error stops at the first).
 */
export function compilePart(source: string, escaping: Escaping): { part: CompiledPart } | { problems: TemplateProblem[] } {
  const liquid = ENGINES[escaping];
  let parsed: Parsed[];
  try {
    parsed = liquid.parse(source);
  } catch (err) {
    return { problems: [problemOf(err)] };
  }
  const problems: TemplateProblem[] = [];
  try {
    const { globals } = liquid.analyzeSync(parsed, { partials: false });
    for (const [name, uses] of Object.entries(globals)) {
      if ((TEMPLATE_VARIABLES as readonly string[]).includes(name)) continue;
      problems.push({ line: uses[0]?.location.row, problem: `unknown variable "${name}" (known: ${TEMPLATE_VARIABLES.join(', ')})` });
    }
  } catch (err) {
    problems.push(problemOf(err));
  }
  return problems.length > 0 ? { problems } : { part: { escaping, parsed } };
}

/** Renders a compiled part. Throws when rendering exceeds its limits. */
export function renderPart(part: CompiledPart, variables: TemplateVariables): string {
  return ENGINES[part.escaping].renderSync(part.parsed, variables) as string;
}

/** Describes a problem as "line 3: ...". */
export function describeProblem({ line, problem }: TemplateProblem): string {
  return line === undefined ? problem : `line ${line}: ${problem}`;
}

/** A render failure as a plain sentence (liquidjs wraps it with positions). */
export function renderFailure(err: unknown): string {
  return describeProblem(problemOf(err));
}

/** A priority as templates see it; a message always has one (MEDIUM when the sender gave none). */
export function priorityName(priority: Priority): string {
  return priority === Priority.UNSPECIFIED ? 'medium' : priorityLabel(priority);
}
