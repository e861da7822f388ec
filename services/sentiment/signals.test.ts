import { describe, expect, it } from 'vitest';
import { EscalationSignal } from '../../gen/pulse/common/v1/conversation_pb.js';
import { detectSignals, findSignals, normaliseForSignals } from './signals.js';

const { CANCELLATION, REFUND, LEGAL_THREAT, REPEATED_CONTACT, ABUSIVE_LANGUAGE, HUMAN_REQUEST, BILLING_DISPUTE, SERVICE_FAILURE, SARCASM, PRIVACY_REQUEST, FRUSTRATION } =
  EscalationSignal;

function names(text: string): string[] {
  return detectSignals(text, 'en').map((s) => EscalationSignal[s]);
}

/** [message, expected signals] */
type Case = [string, EscalationSignal[]];

function table(cases: Case[]) {
  it.each(cases)('%s', (text, expected) => {
    expect(names(text)).toEqual(expected.map((s) => EscalationSignal[s]));
  });
}

describe('detectSignals: the issue examples', () => {
  table([
    ["I have been waiting three weeks for my refund, this is the last time I'm asking", [REFUND, REPEATED_CONTACT]],
    ['this is insanely good', []],
    ["I don't want to cancel, I love it", []],
  ]);
});

describe('cancellation and churn intent', () => {
  table([
    ['Please cancel my subscription effective immediately.', [CANCELLATION]],
    ['How do I close my account? I cannot find the option anywhere', [CANCELLATION]],
    ["Why can't I cancel?? The button does nothing", [CANCELLATION]],
    ["If this isn't fixed by Friday I'm cancelling.", [CANCELLATION]],
    ["We're switching to a competitor next month.", [CANCELLATION]],
    ["I'll be taking my business elsewhere.", [CANCELLATION]],
    ['I will never order from you again.', [CANCELLATION]],
    ["Honestly I'm done with this company.", [CANCELLATION]],
    ['We will not be renewing the contract in March.', [CANCELLATION]],
    ['Thinking about leaving your service after 6 years', [CANCELLATION]],
    ['Please delete my account and all my data', [CANCELLATION]],
    ['Unsubscribe.', [CANCELLATION]],
    // not the customer's intent
    // Not a cancellation; an unsubscribe demand all the same.
    ['Unsubscribe me from these marketing emails please', [PRIVACY_REQUEST]],
    ['My order was cancelled without any notice and nobody told me why', [FRUSTRATION]],
    ['The flight got cancelled, can you rebook me?', []],
    ["No, I'm not cancelling, I just want to change the plan", []],
    ['I have no intention of cancelling, relax', []],
    ['Please do not cancel my order, I still want it!', []],
    ['Can you cancel the old card and send me a new one?', []],
    ["I didn't cancel anything, why is my account closed?", []],
    ["I'd never cancel, you guys are great", []],
  ]);
});

describe('refund and chargeback', () => {
  table([
    ['I want a refund.', [REFUND]],
    ['Can I get my money back for the annual plan?', [REFUND]],
    ['I still have not received my refund.', [REFUND, REPEATED_CONTACT]],
    ["You charged me twice and won't refund me?", [REFUND, BILLING_DISPUTE]],
    ['I never got the refund you promised', [REFUND]],
    ["I'll dispute the charge with my bank if this isn't sorted today", [REFUND, BILLING_DISPUTE]],
    ["I'm calling my credit card company tomorrow.", [REFUND]],
    ['Filing a chargeback.', [REFUND, BILLING_DISPUTE]],
    ['I expect to be reimbursed for the shipping.', [REFUND]],
    // settled or declined
    ['Got my refund, thank you so much!', []],
    ['Thanks for processing the refund so quickly', []],
    ['The refund arrived this morning, all good', []],
    ["I don't want a refund, I just want it to work", []],
    ['Not asking for my money back, just an explanation.', []],
    ['A refund is not necessary, a replacement is fine.', []],
  ]);
});

describe('legal or regulatory threat', () => {
  table([
    ["I'm talking to my lawyer about this.", [LEGAL_THREAT]],
    ['I will sue you for every penny', [LEGAL_THREAT]],
    ['See you in court.', [LEGAL_THREAT]],
    ["I'm reporting you to the Better Business Bureau", [LEGAL_THREAT]],
    ['This is a clear GDPR violation', [LEGAL_THREAT]],
    ['I will file a complaint with the FTC and the attorney general', [LEGAL_THREAT]],
    ['Taking you to small claims court if I must', [LEGAL_THREAT]],
    // a name, a court of another kind, a promise not to
    ['Sue from billing was lovely, thanks Sue!', []],
    ['Is the food court near the store open on Sundays?', []],
    ["Don't worry, I'm not going to sue anyone.", []],
    ['No need to get lawyers involved, I just want it fixed', []],
  ]);
});

describe('repeated contact or long waiting', () => {
  table([
    ['I have been on hold for 45 minutes', [REPEATED_CONTACT]],
    ['This is the third time I am writing about this', [REPEATED_CONTACT]],
    ["I've called five times and emailed twice.", [REPEATED_CONTACT]],
    ['Still waiting for someone to get back to me', [REPEATED_CONTACT]],
    ["It's been two weeks and nothing", [REPEATED_CONTACT]],
    ['How many times do I have to explain this?', [REPEATED_CONTACT]],
    ['I already explained this to your colleague yesterday', [REPEATED_CONTACT]],
    ['Nobody has ever replied to my emails', [REPEATED_CONTACT]],
    ["I haven't heard back since Monday", [REPEATED_CONTACT]],
    ['I keep getting transferred between departments', [REPEATED_CONTACT]],
    ['Writing again because the issue is still not fixed', [REPEATED_CONTACT, FRUSTRATION]],
    ['Oh great, another week of waiting. Love it. 🙄', [REPEATED_CONTACT, SARCASM]],
    ['Wow, thanks for nothing. Third week without internet.', [REPEATED_CONTACT, SARCASM]],
    ['i cant believe i have to ask for a refund AGAIN', [REFUND, REPEATED_CONTACT]],
    ["Please don't make me call again", [REPEATED_CONTACT]],
    ["Sorted, I won't have to call again. Thanks!", []],
    ['I sent 3 emails about this already', [REPEATED_CONTACT]],
    // short waits, patience, history
    ['Thanks for waiting a minute while I checked', []],
    ["I don't mind waiting a few days, no rush", []],
    ["I've been a happy customer for years", []],
    ['Second time ordering from you and it was perfect again', []],
  ]);
});

describe('abusive language', () => {
  table([
    ['This is fucking ridiculous', [ABUSIVE_LANGUAGE]],
    ['wtf is this charge', [ABUSIVE_LANGUAGE]],
    ['What the f**k happened to my order', [ABUSIVE_LANGUAGE]],
    ['this is such bullsh!t', [ABUSIVE_LANGUAGE]],
    ['You people are completely useless', [ABUSIVE_LANGUAGE]],
    ['Are you stupid or just pretending?', [ABUSIVE_LANGUAGE]],
    ['bunch of incompetent clowns', [ABUSIVE_LANGUAGE]],
    ['🖕🖕', [ABUSIVE_LANGUAGE]],
    ['F*CKING USELESS BOT', [ABUSIVE_LANGUAGE]],
    // frustration without abuse, words that only contain a bad word
    ['This app is useless on my phone', []],
    ['I feel stupid for asking, but where is the export button?', []],
    ['The assistant assessed my class schedule in Scunthorpe', []],
    ["Shiitake mushrooms were missing from the box", []],
    ["I'm not calling you incompetent, I'm saying the process is broken", []],
  ]);
});

describe('request for a manager or a human', () => {
  table([
    ['I want to speak to a manager.', [HUMAN_REQUEST]],
    ['Can I talk to a real person please', [HUMAN_REQUEST]],
    ['Transfer me to a human', [HUMAN_REQUEST]],
    ['Are you a bot?', [HUMAN_REQUEST]],
    ['agent please', [HUMAN_REQUEST]],
    ['Is it possible to get a human on the phone?', [HUMAN_REQUEST]],
    ['Please escalate this to your supervisor', [HUMAN_REQUEST]],
    ["What's your manager's email?", [HUMAN_REQUEST]],
    // not a request
    ['The manager at the store was really helpful', []],
    ['I spoke to an agent yesterday and she sorted it', []],
    ["No need to escalate, you've been great", []],
    ["I don't need to speak to a manager, I just need the invoice", []],
  ]);
});

describe('mixed messages', () => {
  table([
    ['Your agent was lovely but I still want a refund and I am cancelling.', [CANCELLATION, REFUND]],
    ["I don't want a refund, but I do want to speak to a manager", [HUMAN_REQUEST]],
    ["I don't want to cancel, but if I have to call a fourth time I will.", [REPEATED_CONTACT]],
    ['Third time asking: refund me or I call my lawyer. Useless idiots.', [REFUND, LEGAL_THREAT, REPEATED_CONTACT, ABUSIVE_LANGUAGE]],
    ['Great, just great. Waited 3 hours for a human and got a bot. Cancel everything.', [CANCELLATION, REPEATED_CONTACT, HUMAN_REQUEST, SARCASM]],
  ]);
});

describe('noise', () => {
  table([
    ['asdfghjkl qwerty 12345', []],
    ['¯\\_(ツ)_/¯', []],
    ['ok', []],
    ['Bonjour, je voudrais changer mon adresse de livraison', []],
    ['Привет, как дела?', []],
    ['#REF-4471 status=pending retry_count=3', []],
    ['😂😂😂', []],
    ['', []],
  ]);
});

describe('long texts', () => {
  const rambling = 'so the thing is that the app kept doing the same weird stuff on my tablet and my phone '.repeat(30);

  it('reads negation at the end of a long clause', () => {
    expect(names(`${rambling}and honestly I do not want to cancel`)).toEqual([]);
    expect(names(`${rambling}and honestly I want to cancel`)).toEqual(['CANCELLATION']);
  });

  it('stays fast on a long text full of matches', () => {
    const text = "i don't want a refund ".repeat(450);
    const started = performance.now();
    expect(names(text)).toEqual([]);
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe('normaliseForSignals', () => {
  it('folds case, accents and apostrophes so spellings meet the rules', () => {
    expect(normaliseForSignals('I DON’T want a RÉFUND')).toBe("i don't want a refund");
    expect(names('I DON’T want a RÉFUND')).toEqual([]);
    expect(names('RÉFUND NOW')).toEqual(['REFUND']);
  });
});

describe('other languages', () => {
  function spanish(text: string): string[] {
    return detectSignals(text, 'es').map((s) => EscalationSignal[s]);
  }

  it('reads each language by its own rules', () => {
    expect(spanish('Quiero cancelar mi suscripción y que me devuelvan el dinero')).toEqual(['CANCELLATION', 'REFUND']);
    expect(detectSignals('Je veux parler à un responsable', 'fr')).toEqual([HUMAN_REQUEST]);
    expect(detectSignals('Mein Anwalt wird sich melden', 'de')).toEqual([LEGAL_THREAT]);
    expect(detectSignals('O técnico não apareceu', 'pt')).toEqual([SERVICE_FAILURE]);
  });

  it('lets the customer negate their own intent, and tells a meeting from a subscription', () => {
    expect(spanish('No quiero cancelar, solo era una pregunta')).toEqual([]);
    expect(spanish('¿Podemos cancelar la reunión de mañana?')).toEqual([]);
    expect(detectSignals('Je ne veux pas résilier', 'fr')).toEqual([]);
  });
});

describe('findSignals', () => {
  it('gives the words behind each signal as UTF-16 offsets into the text as written', () => {
    const text = '😡 Ça suffit! Je veux être REMBOURSÉ et je vais résilier.';
    const matches = findSignals(text, 'fr');
    expect(matches.map((m) => [EscalationSignal[m.signal], text.slice(m.start, m.end)])).toEqual([
      ['CANCELLATION', 'résilier'],
      ['REFUND', 'REMBOURSÉ'],
    ]);
  });

  it('keeps the offsets of text whose folding would change its length', () => {
    const text = 'The ﬁle İs gone. I want a refund';
    const [match] = findSignals(text, 'en');
    expect(text.slice(match.start, match.end)).toBe('refund');
  });
});
