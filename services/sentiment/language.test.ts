import { describe, expect, it } from 'vitest';
import { detectLanguage } from './language.js';

describe('detectLanguage', () => {
  it.each([
    ['I want to cancel my subscription, this is the third time I ask', 'en'],
    ['Quiero cancelar mi suscripción, ya es la tercera vez', 'es'],
    ["Je veux résilier mon abonnement, c'est la troisième fois", 'fr'],
    ['Ich möchte mein Abo kündigen, das ist das dritte Mal', 'de'],
    ['Quero cancelar a minha assinatura, já é a terceira vez', 'pt'],
  ])('%s -> %s', (text, language) => {
    expect(detectLanguage(text)).toBe(language);
  });

  it('reads a text with too little to tell, or one stray marker, as English', () => {
    expect(detectLanguage('?!')).toBe('en');
    expect(detectLanguage('Nervous as hell')).toBe('en');
    expect(detectLanguage('Spammer. Die.')).toBe('en');
  });
});
