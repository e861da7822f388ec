// Escalation signals: what support people look for in a customer's words, whatever the overall tone. "I have been
// waiting three weeks for my refund, this is the last time I'm asking" scores neutral and is still urgent.
//
// Each signal is a set of phrase rules over the normalised text. A match counts unless the customer negates their
// own intent ("I don't want to cancel", "no need to escalate", "refund not needed"); a negation only reaches as far
// as its clause, and one about what the company did ("you won't refund me", "I never got my refund") is a complaint,
// not a negation. Profanity counts whatever surrounds it. Plain functions, no I/O.
import { EscalationSignal } from '../../gen/pulse/common/v1/conversation_pb.js';

interface Rule {
  signal: EscalationSignal;
  patterns: RegExp[];
  /** Whether "I don't want to ..." before a match cancels it. */
  negatable: boolean;
  /** A match that, in context, is not the signal (a thank-you for a refund received). */
  unless?: (prefix: string, suffix: string) => boolean;
}

const re = (source: string) => new RegExp(source, 'g');

// Shared vocabulary.
const COUNT_WORD = String.raw`(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|several|many|a\s+few|few|a\s+couple\s+of|couple\s+of|multiple|numerous|countless|so\s+many|too\s+many|dozens\s+of)`;
const MANY = String.raw`(?:[2-9]|\d{2,}|two|three|four|five|six|seven|eight|nine|ten|several|many|multiple|numerous|countless|so\s+many|a\s+dozen|dozens\s+of)`;
const LONG_UNIT = String.raw`(?:hours?|days?|weeks?|months?|years?|business\s+days?|working\s+days?)`;
const LONG_MINUTES = String.raw`(?:(?:[2-9]\d|\d{3,}|twenty|thirty|forty|forty-five|fifty|sixty|ninety)\s+minutes)`;
const ORDINAL = String.raw`(?:second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|umpteenth|nth|2nd|3rd|\d+th)`;
const CONTACT_VERB = String.raw`(?:asked|contacted|called|emailed|e-mailed|written|wrote|messaged|told|chatted|phoned|rang|reached\s+out|complained|explained|reported)`;
const PERSON = String.raw`(?:humans?|person|manager|managers|supervisor|supervisors|boss|agent|agents|representative|representatives|rep|operator|someone|somebody|anyone|anybody|team\s+lead(?:er)?|superior|higher[\s-]up)`;
const PERSON_ADJ = String.raw`(?:(?:real|actual|live|human|proper|competent|senior)\s+)?`;
const DETERMINER = String.raw`(?:(?:a|an|your|the|some|one\s+of\s+your)\s+)?`;
const INSULT = String.raw`(?:idiots?|morons?|imbeciles?|incompetent|useless|stupid|clowns?|pathetic|liars?|thie(?:f|ves)|crooks?|scammers?|frauds?|dumb|worthless|brain[\s-]?dead|retard(?:s|ed)?|losers?|jokers?|a\s+joke|amateurs?|muppets?|cowboys?|criminals?)`;
const INSULT_LEAD = String.raw`(?:(?:all|such|so|a|an|just|the|bunch\s+of|total|complete|absolute|utter|fucking|bloody|effing|freaking|most|biggest|really|totally|completely)\s+)*`;

const RULES: Rule[] = [
  {
    signal: EscalationSignal.CANCELLATION,
    negatable: true,
    patterns: [
      // "cancel", "cancelling", "cancellation"; not "my order was cancelled" (the company did it), nor cancelling a
      // lost card or an appointment.
      re(String.raw`(?<!\b(?:was|were|been|got|get|gets|being|is|are|be)\s+(?:\S+\s+)?)\bcancel(?:l?ing|l?ed|s|lations?)?\b(?!\s+(?:the|my|this|that|our)\s+(?:old\s+|lost\s+|stolen\s+|previous\s+)?(?:card|appointment|meeting|call)\b)`),
      re(String.raw`\b(?:close|closing|delete|deleting|terminate|terminating|deactivate|deactivating|end|ending|stop|stopping|discontinue|discontinuing|quit|quitting)\s+(?:my|our|the|this)\s+(?:\S+\s+)?(?:account|subscription|membership|contract|plan|policy)\b`),
      re(String.raw`\bunsubscrib(?:e|ing)\b(?!\s+(?:me\s+)?from\s+(?:\S+\s+){0,2}?(?:e-?mails?|newsletters?|mailing|marketing|texts?|sms|notifications?|promotions?))`),
      re(String.raw`\b(?:switch|switching|move|moving|go|going|jump|jumping|leave|leaving|port|porting)\s+(?:over\s+|back\s+)?(?:to|for)\s+(?:(?:a|an|the|your|one\s+of\s+your)\s+)?(?:competitors?|competition|(?:another|other|different|new)\s+(?:provider|company|bank|carrier|service|vendor|platform|supplier|app|insurer|network))\b`),
      re(String.raw`\b(?:take|taking|took)\s+(?:my|our)\s+(?:business|money|custom)\s+(?:elsewhere|somewhere\s+else)\b`),
      re(String.raw`\b(?:find|finding|look\s+for|looking\s+for|shopping\s+around\s+for)\s+(?:a\s+|an\s+)?(?:another|different|new|better)\s+(?:provider|company|bank|carrier|service|vendor|supplier|insurer|network)\b`),
      re(String.raw`\b(?:i'm|i\s+am|im|we're|we\s+are)\s+(?:so\s+|completely\s+|totally\s+|absolutely\s+)?(?:done|finished|through)\s+with\s+(?:you|your|this\s+(?:company|service|app|bank))\b`),
      re(String.raw`\bnever\s+(?:\S+\s+){0,3}?(?:use|using|buy|buying|order|ordering|purchase|purchasing|shop|shopping|book|booking|fly|flying|deal|dealing|do\s+business)\b(?:\s+\S+){0,4}?\s+again\b`),
      re(String.raw`\bnever\s+again\b`),
      re(String.raw`\b(?:i|we|i'm|im|we're|i'll|we'll|i\s+am|we\s+are)\s+(?:\S+\s+)?(?:won't|wont|will\s+not|not\s+going\s+to|no\s+longer)\s+(?:be\s+)?(?:using|use|buying|buy|ordering|order|shopping|shop|booking|book|coming\s+back)\b`),
      re(String.raw`\b(?:not|won't|wont|will\s+not|no\s+longer)\s+(?:be\s+)?renew(?:ing)?\b`),
      re(String.raw`\bport(?:ing)?\s+(?:my|our)\s+(?:\S+\s+)?numbers?\s+(?:out|away)\b`),
      re(String.raw`\b(?:want|wanna|need|trying|going|gonna|plan|planning|intend|thinking\s+about|considering)\s+(?:to\s+)?(?:leave|leaving|quit|quitting)\s+(?:you|your\s+(?:company|service|bank|network)|this\s+(?:company|service|bank|network))\b`),
    ],
  },
  {
    signal: EscalationSignal.REFUND,
    negatable: true,
    patterns: [
      re(String.raw`\brefund(?:s|ed|ing)?\b`),
      re(String.raw`\bmoney\s+back\b`),
      re(String.raw`\bcharge[\s-]?backs?\b`),
      re(String.raw`\b(?:dispute|disputing|reverse|reversing|contest|contesting)\s+(?:the|this|that|these|those|my|a|your)\s+(?:\S+\s+)?(?:charges?|transactions?|payments?|bills?)\b`),
      re(String.raw`\breimburs(?:e|ed|ement|ing)\b`),
      re(String.raw`\b(?:call|calling|contact|contacting|tell|telling)\s+my\s+(?:bank|credit\s+card\s+(?:company|issuer|provider)|card\s+issuer)\b`),
      re(String.raw`\b(?:give|send|pay|return)\s+(?:me\s+)?(?:back\s+)?my\s+money\b`),
      re(String.raw`\bcompensat(?:e|ion)\b`),
    ],
    // "Thanks for the refund", "got my refund, thanks", "the refund arrived": settled, not asked for.
    unless: (prefix, suffix) =>
      (/\b(?:thanks|thank\s+you)(?:\s+so\s+much)?\s+for(?:\s+\S+){0,2}$/.test(prefix) ||
        /\b(?:got|received|recieved)(?:\s+(?:the|my|a|your))?(?:\s+full)?$/.test(prefix) ||
        /^\s*(?:has\s+|have\s+|finally\s+)*(?:arrived|came\s+through|went\s+through|landed|cleared|showed\s+up)\b/.test(suffix)) &&
      !/\b(?:not|never|no|still|yet|n't|haven|hasn|didn|waiting|when|if|until|before)\b|n't\b/.test(prefix),
  },
  {
    signal: EscalationSignal.LEGAL_THREAT,
    negatable: true,
    patterns: [
      re(String.raw`\b(?:lawyers?|attorneys?|solicitors?|barristers?|legal\s+(?:action|proceedings|team|counsel|advice|steps|route)|lawsuits?|law\s+suits?|class[\s-]action|litigation|litigate|small[\s-]claims)\b`),
      // "sue" as a verb, never "Sue from billing".
      re(String.raw`(?:\b(?:to|will|gonna|can|could|should|would|might|may|i|we|and|then|or)|'ll|\bill)\s+sue\b`),
      re(String.raw`\bsue\s+(?:you|u|your|them|the\s+company|this\s+company|for)\b`),
      re(String.raw`\bsuing\b`),
      re(String.raw`\b(?:take|taking|took|drag|dragging)\s+(?:you|u|this|it|them|your\s+(?:company|business|firm))\s+to\s+court\b`),
      re(String.raw`\bsee\s+you\s+in\s+court\b`),
      re(String.raw`\b(?:ftc|cfpb|fcc|ofcom|ofgem|ofwat|ombudsman|better\s+business\s+bureau|bbb|attorney\s+general|consumer\s+(?:protection|rights|affairs|council|watchdog)|trading\s+standards|data\s+protection\s+(?:authority|commissioner)|regulators?|regulatory\s+(?:body|authority|complaint)|gdpr|ccpa|watchdog)\b`),
      re(String.raw`\b(?:report|reporting)\s+(?:you|this|it|your\s+company|them)\s+to\s+(?:the\s+)?(?:authorities|police|regulators?|ftc|bbb|fcc|cfpb|ombudsman|consumer)\b`),
      re(String.raw`\b(?:call|calling|contact|contacting|involve|involving|get)\s+the\s+(?:police|authorities|cops)\b`),
    ],
  },
  {
    signal: EscalationSignal.REPEATED_CONTACT,
    negatable: true,
    patterns: [
      re(String.raw`\bwait(?:ed|ing)?\b(?:\s+\S+){0,6}?\s+(?:(?:for|over|more\s+than|almost|nearly|about|around|since)\s+)*${COUNT_WORD}\s+(?:(?:whole|full|entire|long|more|straight)\s+)?${LONG_UNIT}\b`),
      re(String.raw`\bwait(?:ed|ing)?\b(?:\s+\S+){0,6}?\s+(?:(?:for|over|more\s+than|almost|nearly|about|around)\s+)*${LONG_MINUTES}\b`),
      re(String.raw`\bstill\s+(?:waiting|nothing|broken|happening|the\s+same|an\s+issue|a\s+problem|no\s+(?:reply|response|answer|update|word|refund|news|fix|resolution|one)|not\s+(?:fixed|resolved|working|received|here|arrived|sorted|done)|(?:haven't|havent|have\s+not|hasn't|hasnt|has\s+not|didn't|didnt|did\s+not|don't|dont|do\s+not)\s+(?:\S+\s+){0,2}?(?:received|heard|gotten|got|get|seen|had|have|arrived|been))\b`),
      re(String.raw`\b(?:on\s+hold|in\s+(?:the\s+)?queue)\s+for\s+(?:(?:over|more\s+than|almost|nearly)\s+)?(?:${COUNT_WORD}\s+${LONG_UNIT}|${LONG_MINUTES}|ages|hours|forever)\b`),
      re(String.raw`\bfor\s+(?:days|weeks|months|ages)\s+now\b`),
      re(String.raw`\b(?:it's|its|it\s+has)\s+been\s+(?:(?:over|more\s+than|almost|nearly)\s+)?(?:(?:[2-9]|\d{2,}|two|three|four|five|six|seven|eight|nine|ten|several|many|a\s+few|a\s+couple\s+of)\s+)?(?:days|weeks|months|ages)\b`),
      re(String.raw`\b(?:for\s+the|this\s+is\s+(?:the|my)|it's\s+the|now\s+the|that's\s+the)\s+${ORDINAL}\s+time\b`),
      re(String.raw`\b(?:call|write|ask|contact|email|message|chat|reach\s+out)\w*\s+(?:you\s+)?(?:for\s+)?(?:a|the)\s+${ORDINAL}\s+time\b`),
      re(String.raw`\b${ORDINAL}\s+time\s+(?:i've|i\s+have|i'm|i\s+am|we've|contacting|calling|writing|asking|emailing|messaging|reaching\s+out|chatting)\b`),
      re(String.raw`\b(?:last|final)\s+time\s+(?:i'm|i\s+am|im|i'll|i\s+will|i)\s+(?:\S+\s+)?(?:asking|ask|contacting|contact|writing|write|calling|call|telling|tell|emailing|messaging|reaching)\b`),
      re(String.raw`\b${CONTACT_VERB}\b(?:\s+\S+){0,4}?\s+(?:${MANY}|\d+x)\s+times\b`),
      re(String.raw`\b${MANY}\s+(?:separate\s+|different\s+)?(?:calls|phone\s+calls|e-?mails|messages|tickets|chats|requests|complaints|attempts)\b`),
      re(String.raw`\bhow\s+many\s+(?:more\s+)?times\s+(?:do|must|will|should|have|did|am)\b`),
      re(String.raw`\b(?:writ(?:e|ing)|wrote|contact(?:ing|ed)?|call(?:ing|ed)?|ask(?:ing|ed)?|messag(?:e|ing|ed)|e-?mail(?:ing|ed)?|reach(?:ing)?\s+out|chat(?:ting)?|report(?:ing|ed)?|explain(?:ing|ed)?)\s+(?:\S+\s+){0,4}?(?:again|one\s+more\s+time)\b`),
      re(String.raw`\balready\s+(?:contacted|called|emailed|e-mailed|explained|told|asked|reported|written|wrote|complained|messaged|spoke|spoken|talked)\b`),
      re(String.raw`\b(?:nobody|no\s+one|noone|no-one)\s+(?:(?:has|have|ever|even|bothered\s+to)\s+)*(?:got|gotten|get|gets|replied|replies|responded|responds|answered|answers|called|emailed|helped|helps|contacted|bothered|cares|fixed|followed)\b`),
      re(String.raw`\b(?:haven't|havent|have\s+not|hasn't|hasnt|has\s+not|never|didn't|didnt|did\s+not)\s+(?:\S+\s+){0,2}?(?:heard|gotten|got|received|had)\s+(?:back|a\s+(?:reply|response|answer|call\s*back)|any\s+(?:reply|response|answer|update|news)|anything)\b`),
      re(String.raw`\bno\s+(?:reply|response|answer|call\s*back|update)\s+(?:yet|from|to|since|after|for)\b`),
      re(String.raw`\bkeep\s+(?:getting|being)\s+(?:transferred|passed|bounced|told|disconnected|cut\s+off|ignored)\b`),
      re(String.raw`\b(?:keep|kept)\s+(?:transferring|passing|bouncing|ignoring|disconnecting)\s+me\b`),
      re(String.raw`\b(?:same|identical)\s+(?:answer|thing|response|reply|message|excuse|script)\s+(?:again|every\s+time|over\s+and\s+over|as\s+(?:last\s+time|before))\b`),
      re(String.raw`\bevery\s+(?:single\s+)?time\s+i\s+(?:call|contact|write|ask|chat|email|reach)\b`),
      re(String.raw`\bover\s+and\s+over\b`),
      re(String.raw`\b(?:another|one\s+more|${ORDINAL})\s+(?:day|week|month|hour)\s+(?:of\s+)?(?:waiting|without)\b`),
    ],
  },
  {
    signal: EscalationSignal.ABUSIVE_LANGUAGE,
    negatable: false,
    patterns: [
      re(String.raw`\b(?:fuck|fucks|fucking|fucked|fucker|fuckers|fuckin|fuckwit|motherfuck(?:er|ers|ing)|fck|fcking|fk|fking|fkn|fuk|fuking|shit|shits|shitty|shite|bullshit|horseshit|shithole|shithead|asshole|assholes|arsehole|arseholes|asshat|jackass|dumbass|bastards?|bitch|bitches|bitchy|dickheads?|pricks?|cunts?|twats?|wankers?|douche|douchebags?|piss\s+off|screw\s+you|go\s+to\s+hell|shut\s+up|stfu|gtfo|wtf)\b`),
      // Starred-out spellings: f**k, f***ing, sh!t, a$$hole, b*tch.
      re(String.raw`(?<![a-z])f(?:[*#@$%]{2,}|[u*#@$%][*#@$%]?[ck]+|[*#@$%]ck)(?:ing|in|ed|er|ers)?(?![a-z])`),
      re(String.raw`(?<![a-z])(?:bull|horse)?sh[*!1]t(?:ty|s|hole|head)?(?![a-z])`),
      re(String.raw`(?<![a-z])a(?:\$\$|\*\*)hole`),
      re(String.raw`(?<![a-z])b[*!1]tch`),
      /[\u{1F595}\u{1F92C}]/gu, // middle finger, face with symbols on mouth
    ],
  },
  {
    // Insults aimed at people are abuse; "I'm not calling you incompetent" is not.
    signal: EscalationSignal.ABUSIVE_LANGUAGE,
    negatable: true,
    patterns: [
      re(String.raw`\b(?:you|u|ya)(?:\s+(?:people|guys|lot|all|folks))?(?:'re|re|\s+are|\s+r)?\s+${INSULT_LEAD}${INSULT}\b`),
      re(String.raw`\bare\s+(?:you|u)(?:\s+(?:people|guys))?\s+(?:stupid|dumb|deaf|illiterate|incompetent|idiots?|morons?|retarded)\b`),
      re(String.raw`\b(?:what|such)\s+(?:a|an)\s+(?:bunch\s+of\s+)?(?:idiots?|morons?|clowns?|imbeciles?|incompetent\s+\S+)\b`),
      re(String.raw`\b(?:bunch|pack|load)\s+of\s+(?:(?:incompetent|useless|lying)\s+)?(?:idiots|morons|clowns|crooks|thieves|liars|scammers|amateurs|muppets|imbeciles|monkeys)\b`),
      re(String.raw`\b(?:idiot|moron|incompetent|useless|stupid|clueless|brainless|lying|thieving)\s+(?:agents?|staff|people|employees|reps?|representatives?|support\s+(?:staff|agents?|team|people)|team|bot|workers|managers?|morons|idiots|clowns)\b`),
    ],
  },
  {
    signal: EscalationSignal.HUMAN_REQUEST,
    negatable: true,
    patterns: [
      re(String.raw`\b(?:speak|talk|chat|get\s+through)\s+(?:to|with)\s+${DETERMINER}${PERSON_ADJ}(?:${PERSON}|customer\s+(?:service|support))\b`),
      re(String.raw`\b(?:get|give|connect|transfer|put|pass|escalate|forward|send)\s+me\s+(?:(?:to|through\s+to|over\s+to|with|on\s+to)\s+)?${DETERMINER}${PERSON_ADJ}${PERSON}\b`),
      re(String.raw`\b(?:i\s+want|i\s+need|i'd\s+like|i\s+would\s+like|i\s+demand|can\s+i\s+(?:get|have)|could\s+i\s+(?:get|have)|may\s+i\s+have)\s+${DETERMINER}${PERSON_ADJ}(?:human|person|manager|supervisor|boss|representative|operator|team\s+lead(?:er)?)\b`),
      re(String.raw`\bescalat(?:e|ing)\s+(?:this|it|my|the\s+(?:matter|issue|ticket|case|complaint|problem))\b`),
      re(String.raw`\bplease\s+escalate\b`),
      re(String.raw`\b(?:are\s+you|am\s+i\s+(?:talking|speaking|chatting)\s+(?:to|with)|is\s+this)\s+(?:a|an|just\s+a|some)\s+(?:bot|robot|machine|ai|automated\s+\S+|real\s+person|human|actual\s+person)\b`),
      re(String.raw`\b(?:real|actual|live)\s+(?:human|person|agent|representative)\b`),
      re(String.raw`\bget\s+(?:a|an)\s+(?:real\s+|actual\s+|live\s+)?(?:human|person|manager|supervisor|representative)\b`),
      re(String.raw`\bwait(?:ed|ing)?\s+(?:\S+\s+){0,4}?for\s+(?:a|an)\s+(?:real\s+|actual\s+|live\s+)?(?:human|person|agent|representative)\b`),
      re(String.raw`\b(?:human|agent|representative|operator|manager|supervisor)\s*,?\s*please\b`),
      re(String.raw`\b(?:who\s+is|who's|what\s+is|what's)\s+(?:your|the)\s+(?:manager|supervisor|boss)\b`),
      re(String.raw`\b(?:your|a)\s+(?:manager|supervisor|boss)(?:'s)?\s+(?:name|e-?mail|number|contact|details)\b`),
      re(String.raw`\bstop\s+(?:sending\s+(?:me\s+)?)?(?:bot|automated|canned|copy[\s-]?paste(?:d)?|scripted)\s+(?:replies|responses|answers|messages)\b`),
    ],
  },
];

// Negation of the customer's own intent, read from the clause text just before a match.
const SUBJECT = String.raw`(?:i|we|i'm|im|we're|i've|we've|i'd|we'd|i'll|we'll)`;
const NEGATOR = String.raw`(?:not|never|don't|dont|do\s+not|didn't|didnt|did\s+not|won't|wont|will\s+not|wouldn't|wouldnt|would\s+not|no\s+longer|haven't|havent|have\s+not|ain't)`;
/**
 * After a negator these make a complaint ("didn't get", "won't let me", "don't care, just cancel") or no negation
 * at all ("not only"): the intent that follows stands.
 */
const COMPLAINT_VERB = String.raw`(?:let|allow|allowed|get|got|gotten|receive|received|work|works|working|respond|responded|reply|replied|answer|answered|hear|heard|help|helped|fix|fixed|resolve|resolved|process|processed|issue|issued|arrive|arrived|see|seen|care|make|only|understand|know|expect|expected|have\s+a\s+choice)`;
const NEGATED_BY_SPEAKER = new RegExp(
  String.raw`(?:^|\b${SUBJECT}\b(?:\s+\S+){0,2}?\s+)(?:please\s+)?${NEGATOR}\b(?!\s+${COMPLAINT_VERB}\b)(?:\s+\S+){0,5}$`,
);
const NEGATED_IMPERSONALLY = /\bno\s+(?:need|intention|intentions|plans?|reason|desire|interest|wish)\b(?:\s+\S+){0,5}$/;
const NEGATED_AFTER = /^\s*(?:\S+\s+){0,2}?(?:(?:is|are|isn't|is\s+not)\s+)?(?:not|no\s+longer)\s+(?:needed|necessary|required|wanted)\b/;

/** Clause boundaries: a negation never reaches across them. */
const BOUNDARY = /[.!?;:\n]+|,|\b(?:but|however|though|although|except|yet)\b/g;

/** Lower case, accents folded, one kind of apostrophe, one space: what the rules are written against. */
export function normaliseForSignals(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[\u2018\u2019\u02BC\u0060\u00B4]/g, "'")
    .toLowerCase()
    .replace(/[^\S\n]+/g, ' ');
}

function clauseStarts(text: string): number[] {
  const starts = [0];
  for (const m of text.matchAll(BOUNDARY)) starts.push(m.index + m[0].length);
  return starts;
}

/** Characters before a match that negation can reach: comfortably more than the ten or so words the rules read. */
const WINDOW = 160;

/**
 * The end of the clause before a match, as the negation rules read it. A long clause is cut at a word boundary and
 * marked, so "^" in a rule still means the start of the clause and a cut word is never read as a whole one. This
 * keeps a long text without punctuation linear.
 */
function lookback(clause: string): string {
  if (clause.length <= WINDOW) return clause;
  const tail = clause.slice(-WINDOW);
  return `\u2026 ${tail.slice(tail.indexOf(' ') + 1)}`;
}

function isNegated(prefix: string, suffix: string): boolean {
  return NEGATED_BY_SPEAKER.test(prefix) || NEGATED_IMPERSONALLY.test(prefix) || NEGATED_AFTER.test(suffix);
}

/** The escalation signals in a text, in enum order, each once. */
export function detectSignals(text: string): EscalationSignal[] {
  const normalised = normaliseForSignals(text);
  const starts = clauseStarts(normalised);
  const found = new Set<EscalationSignal>();
  for (const rule of RULES) {
    if (found.has(rule.signal)) continue;
    search: for (const pattern of rule.patterns) {
      for (const match of normalised.matchAll(pattern)) {
        const at = match.index;
        const end = at + match[0].length;
        const clauseStart = starts.reduce((best, s) => (s <= at && s > best ? s : best), 0);
        const nextBoundary = starts.find((s) => s > end);
        const prefix = lookback(normalised.slice(clauseStart, at).trim());
        const suffix = normalised.slice(end, nextBoundary);
        if (rule.negatable && isNegated(prefix, suffix)) continue;
        if (rule.unless?.(prefix, suffix)) continue;
        found.add(rule.signal);
        break search;
      }
    }
  }
  return [...found].sort((a, b) => a - b);
}
