// Emoji as words. The vader-sentiment port scores an emoji as an unknown token (zero), while the Python
// vaderSentiment 3.3 replaces each emoji with its Unicode CLDR short name before scoring, so "😂" reads as "face
// with tears of joy" and "😭" as "loudly crying face", whose words VADER's lexicon knows. This does the same for
// the emoji people use most in support chats (about a hundred), with the same names. As in Python, a name whose
// words VADER does not know ("thumbs up", "red heart") adds nothing, and an emoji not listed here scores zero.

const NAMES: Record<string, string> = {
  // smiling and happy
  '😀': 'grinning face',
  '😃': 'grinning face with big eyes',
  '😄': 'grinning face with smiling eyes',
  '😁': 'beaming face with smiling eyes',
  '😆': 'grinning squinting face',
  '😅': 'grinning face with sweat',
  '🤣': 'rolling on the floor laughing',
  '😂': 'face with tears of joy',
  '🙂': 'slightly smiling face',
  '🙃': 'upside-down face',
  '😉': 'winking face',
  '😊': 'smiling face with smiling eyes',
  '😇': 'smiling face with halo',
  '🥰': 'smiling face with hearts',
  '😍': 'smiling face with heart-eyes',
  '🤩': 'star-struck',
  '😘': 'face blowing a kiss',
  '😗': 'kissing face',
  '😚': 'kissing face with closed eyes',
  '😙': 'kissing face with smiling eyes',
  '😋': 'face savoring food',
  '😛': 'face with tongue',
  '😜': 'winking face with tongue',
  '🤪': 'zany face',
  '😝': 'squinting face with tongue',
  '🤗': 'hugging face',
  '😎': 'smiling face with sunglasses',
  '😌': 'relieved face',
  '🥳': 'partying face',
  // neutral and doubtful
  '🤔': 'thinking face',
  '🤨': 'face with raised eyebrow',
  '😐': 'neutral face',
  '😑': 'expressionless face',
  '😶': 'face without mouth',
  '😏': 'smirking face',
  '😒': 'unamused face',
  '🙄': 'face with rolling eyes',
  '😬': 'grimacing face',
  '🤥': 'lying face',
  '😴': 'sleeping face',
  '😪': 'sleepy face',
  '🤐': 'zipper-mouth face',
  '😮': 'face with open mouth',
  '😯': 'hushed face',
  '😲': 'astonished face',
  '😳': 'flushed face',
  '🥺': 'pleading face',
  '🤷': 'person shrugging',
  '🤦': 'person facepalming',
  // unhappy
  '😔': 'pensive face',
  '😕': 'confused face',
  '😟': 'worried face',
  '🙁': 'slightly frowning face',
  '☹': 'frowning face',
  '😦': 'frowning face with open mouth',
  '😧': 'anguished face',
  '😨': 'fearful face',
  '😰': 'anxious face with sweat',
  '😥': 'sad but relieved face',
  '😢': 'crying face',
  '😭': 'loudly crying face',
  '😱': 'face screaming in fear',
  '😖': 'confounded face',
  '😣': 'persevering face',
  '😞': 'disappointed face',
  '😓': 'downcast face with sweat',
  '😩': 'weary face',
  '😫': 'tired face',
  '🥱': 'yawning face',
  '😤': 'face with steam from nose',
  '😡': 'enraged face', // CLDR's name since 2020; Python's table has the older "pouting face", which VADER cannot read
  '😠': 'angry face',
  '🤬': 'face with symbols on mouth',
  '😈': 'smiling face with horns',
  '👿': 'angry face with horns',
  '💀': 'skull',
  '💩': 'pile of poo',
  '🤡': 'clown face',
  '🤢': 'nauseated face',
  '🤮': 'face vomiting',
  '🤯': 'exploding head',
  '😵': 'dizzy face',
  // hearts and symbols
  '❤': 'red heart',
  '💔': 'broken heart',
  '💕': 'two hearts',
  '💖': 'sparkling heart',
  '💯': 'hundred points',
  '💢': 'anger symbol',
  '💤': 'zzz',
  '🔥': 'fire',
  '✨': 'sparkles',
  '⭐': 'star',
  '🌟': 'glowing star',
  '🎉': 'party popper',
  '✅': 'check mark button',
  '❌': 'cross mark',
  '⚠': 'warning',
  // hands
  '👍': 'thumbs up',
  '👎': 'thumbs down',
  '👏': 'clapping hands',
  '🙌': 'raising hands',
  '🙏': 'folded hands',
  '👌': 'OK hand',
  '✌': 'victory hand',
  '💪': 'flexed biceps',
  '🖕': 'middle finger',
  '👋': 'waving hand',
};

/** Presentation selectors, joiners and skin tones that ride on an emoji; they carry no meaning of their own. */
const MODIFIERS = /[\uFE0E\uFE0F\u200D\u{1F3FB}-\u{1F3FF}]/u;

/**
 * The text with each known emoji replaced by its name, spaced from neighbouring words as the Python
 * vaderSentiment 3.3 does. Text without emoji comes back unchanged.
 */
export function describeEmoji(text: string): string {
  // Fast path: most texts have no character from the blocks the emoji above live in.
  if (!/[\u2600-\u27BF\u2B00-\u2BFF\u{1F300}-\u{1FAFF}]/u.test(text)) return text;
  let out = '';
  let previousSpace = true;
  let replaced = false;
  for (const char of text) {
    const name = NAMES[char];
    if (name !== undefined) {
      if (!previousSpace) out += ' ';
      out += name;
      previousSpace = false;
      replaced = true;
    } else if (replaced && MODIFIERS.test(char)) {
      continue;
    } else {
      if (replaced && !previousSpace && char !== ' ') out += ' ';
      out += char;
      previousSpace = char === ' ';
      replaced = false;
    }
  }
  return out.trim();
}
