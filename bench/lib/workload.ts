// What the load generator sends: chat messages of realistic length, a known share of them amiss, each amiss one
// in a conversation of its own (so it opens exactly one review case and one notification); calm ones spread over
// a pool of ongoing conversations, each hearing from its customer every few seconds, as chats do.
import { create } from '@bufbuild/protobuf';
import { Author } from '../../gen/pulse/common/v1/conversation_pb.js';
import { type SubmitInteractionRequest, SubmitInteractionRequestSchema } from '../../gen/pulse/ingestion/v1/ingestion_service_pb.js';

export const CALM_TEXTS = [
  'Thanks, that helps a lot. Have a nice day!',
  'Great, the new invoice looks right to me. Thank you for the quick answer.',
  'Perfect, I found the setting you mentioned and everything works now.',
  'That makes sense, thanks for explaining how the billing period works.',
  'Lovely, the delivery arrived this morning and the package was in good shape.',
  'Thank you so much, the app is working fine again on my phone.',
  'Good to know. I will try the export tomorrow and let you know how it goes.',
  'Awesome support as always, I appreciate the help with the team invites.',
  'Nice, the discount shows up in my basket now. Thanks!',
  'Okay, I updated my address in the profile and saved it. Looks good.',
  'Cool, the dashboard loads much faster after the update. Well done.',
  'Thanks for the tip about the keyboard shortcuts, they are very handy.',
];

export const AMISS_TEXTS = [
  'This is the third time I am asking. Awful, useless support. Refund me or I cancel my account!',
  'Worst service ever. I am furious, I want my money back and I will cancel today!',
  'I have been waiting for two weeks, this is terrible. Refund me now or I will talk to my lawyer.',
  'Your product is garbage and nobody answers. Cancel my subscription and refund everything, now.',
];

/** Every tenth message is amiss (10%). */
export const AMISS_EVERY = 10;

export function isAmiss(i: number): boolean {
  return i % AMISS_EVERY === AMISS_EVERY - 1;
}

export interface Interaction {
  messageId: string;
  conversationId: string;
  amiss: boolean;
  request: SubmitInteractionRequest;
}

/** The i-th interaction of a run; calmConversations sets how many ongoing chats the calm messages spread over. */
export function interaction(run: string, i: number, calmConversations: number): Interaction {
  const amiss = isAmiss(i);
  const messageId = `${run}-m${i}`;
  const conversationId = amiss ? `${run}-amiss-${i}` : `${run}-c${i % calmConversations}`;
  const texts = amiss ? AMISS_TEXTS : CALM_TEXTS;
  return {
    messageId,
    conversationId,
    amiss,
    request: create(SubmitInteractionRequestSchema, {
      messageId,
      conversationId,
      customerId: `${run}-cust${i % 977}`,
      agentId: `agent-${i % 31}`,
      author: Author.CUSTOMER,
      channel: 'chat',
      text: texts[i % texts.length],
    }),
  };
}
